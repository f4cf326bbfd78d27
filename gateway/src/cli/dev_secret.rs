//! The development signing secrets of `rti up`: when `RTI_AUTH_SECRET` (people's tokens) or
//! `RTI_AUTH_SERVICE_SECRET` (the services' tokens to each other) is not set, one is generated on
//! first start and kept in the data directory (mode 0600), so restarts and
//! `rti token --data-dir DIR` use the same one.

use std::io::Write;
use std::path::{Path, PathBuf};

use rti_platform::auth::MIN_SECRET_BYTES;

pub const SECRET_FILE: &str = "auth-secret";

/// The service secret's file, apart from the user secret's: the two never sign each other's tokens.
pub const SERVICE_SECRET_FILE: &str = "auth-service-secret";

pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The secret kept in `data_dir`, `None` when there is none yet.
pub fn read(data_dir: &Path) -> std::io::Result<Option<String>> {
    read_named(data_dir, SECRET_FILE)
}

/// The secret kept in `data_dir`, created (256 random bits, hex) when missing.
pub fn read_or_create(data_dir: &Path) -> std::io::Result<String> {
    read_or_create_named(data_dir, SECRET_FILE)
}

/// The secret kept in `data_dir/file`, `None` when there is none yet.
pub fn read_named(data_dir: &Path, file: &str) -> std::io::Result<Option<String>> {
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim().to_owned();
            if secret.len() < MIN_SECRET_BYTES {
                return Err(std::io::Error::other(format!(
                    "{} holds a secret shorter than {MIN_SECRET_BYTES} bytes",
                    path.display()
                )));
            }
            Ok(Some(secret))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// The secret kept in `data_dir/file`, created (256 random bits, hex) when missing.
pub fn read_or_create_named(data_dir: &Path, file: &str) -> std::io::Result<String> {
    if let Some(secret) = read_named(data_dir, file)? {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| std::io::Error::other(error.to_string()))?;
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut written = options.open(data_dir.join(file))?;
    written.write_all(secret.as_bytes())?;
    written.sync_all()?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_secret_once_and_reads_it_back() {
        let directory = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(directory.path()).expect("readable"), None);
        let created = read_or_create(directory.path()).expect("created");
        assert_eq!(created.len(), 64);
        assert_eq!(read_or_create(directory.path()).expect("kept"), created);
        let service = read_or_create_named(directory.path(), SERVICE_SECRET_FILE).expect("created");
        assert_ne!(service, created, "the service secret is a secret of its own");
        assert_eq!(
            read_named(directory.path(), SERVICE_SECRET_FILE).expect("kept"),
            Some(service)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secret_path(directory.path()))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read the secret");
        }
    }
}
