//! Privacy at rest: a SQLite database, its WAL and shared-memory files and the data directory
//! are readable by the service's user only, whatever the umask, and a looser file or directory
//! left from before is narrowed.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rti_platform::db::{Database, DatabaseUrl, Migrations, private_directory};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test]
async fn sqlite_files_are_the_owners_only() {
    let directory = tempfile::tempdir().expect("tempdir");
    let fresh = directory.path().join("fresh.db");
    let loose = directory.path().join("loose.db");
    std::fs::write(&loose, b"").expect("an empty file is a new database to SQLite");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for path in [&fresh, &loose] {
        let url: DatabaseUrl = format!("sqlite://{}", path.display()).parse().expect("url");
        let database = Database::open(&url, &Migrations::NONE, 2).await.expect("opens");
        let mut transaction = database.begin_write().await.expect("begins");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *transaction)
            .await
            .expect("writes");
        transaction.commit().await.expect("commits");
        for file in [
            path.to_path_buf(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        database.close().await;
    }
}

#[test]
fn data_directories_are_the_owners_only() {
    let directory = tempfile::tempdir().expect("tempdir");
    let nested = directory.path().join("data/rti");
    private_directory(&nested).expect("created");
    assert_eq!(mode(&nested), 0o700);
    std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    private_directory(&nested).expect("narrowed");
    assert_eq!(mode(&nested), 0o700);
}
