//! The development signing secret of `rti up`: when `RTI_AUTH_SECRET` is not set, one is
//! generated on first start and kept in the data directory (mode 0600), so restarts and
//! `rti token --data-dir DIR` use the same one.

use std::io::Write;
use std::path::{Path, PathBuf};

use rti_platform::auth::MIN_SECRET_BYTES;

pub const SECRET_FILE: &str = "auth-secret";

pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The secret kept in `data_dir`, `None` when there is none yet.
pub fn read(data_dir: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(secret_path(data_dir)) {
        Ok(text) => {
            let secret = text.trim().to_owned();
            if secret.len() < MIN_SECRET_BYTES {
                return Err(std::io::Error::other(format!(
                    "{} holds a secret shorter than {MIN_SECRET_BYTES} bytes",
                    secret_path(data_dir).display()
                )));
            }
            Ok(Some(secret))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// The secret kept in `data_dir`, created (256 random bits, hex) when missing.
pub fn read_or_create(data_dir: &Path) -> std::io::Result<String> {
    if let Some(secret) = read(data_dir)? {
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
    let mut file = options.open(secret_path(data_dir))?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
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
