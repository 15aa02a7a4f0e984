//! Finding the server key: configured, read from its file, or generated on first start.
//!
//! There is no built-in fallback: if no key is configured and none can be written, the server
//! refuses to start and says what to do.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use vitrine_core::keys::ServerKey;

use crate::config::Config;

/// Why no server key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured key is malformed.
    #[error("the configured server_key is invalid: {0}")]
    Invalid(#[from] vitrine_core::keys::ServerKeyError),
    /// The key file exists but is unreadable or malformed.
    #[error("the server key file {path} cannot be used: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No key configured, and none could be written.
    #[error(
        "no server key is configured and none could be written to {path}: {reason}. \
         Make the data directory writable, or set VITRINE_SERVER_KEY (generate one with \
         `vitrine gen-key`) or server_key_file. Every instance must share the same key."
    )]
    CannotCreate {
        /// Where it was to be written.
        path: PathBuf,
        /// Why it could not be.
        reason: String,
    },
}

/// Whether the key was found or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// From `server_key`.
    Configured,
    /// Read from the key file.
    File,
    /// Generated now and written to the key file.
    Generated,
}

/// The key in force for `config`.
pub fn load_or_create(config: &Config) -> Result<(ServerKey, KeySource), KeyError> {
    if let Some(text) = &config.server_key {
        return Ok((ServerKey::parse(text)?, KeySource::Configured));
    }
    let path = config.server_key_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = ServerKey::parse(&text).map_err(|e| KeyError::BadFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok((key, KeySource::File))
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            let key = ServerKey::generate();
            write_new_key(&path, &key).map_err(|e| KeyError::CannotCreate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok((key, KeySource::Generated))
        }
        Err(e) => Err(KeyError::BadFile {
            path,
            reason: e.to_string(),
        }),
    }
}

/// Writes a new key file readable by the owner only. `create_new` makes two instances
/// starting at once agree: the loser re-reads the winner's key.
fn write_new_key(path: &Path, key: &ServerKey) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.to_text().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_with_owner_only_permissions_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let (first, source) = load_or_create(&config).unwrap();
        assert_eq!(source, KeySource::Generated);
        let (second, source) = load_or_create(&config).unwrap();
        assert_eq!(source, KeySource::File);
        assert_eq!(first.to_text(), second.to_text());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("data/server.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_key_wins_and_a_bad_one_is_refused() {
        let key = ServerKey::generate();
        let config = Config {
            server_key: Some(key.to_text()),
            data_dir: "/nonexistent/never/written".into(),
            ..Config::default()
        };
        assert_eq!(load_or_create(&config).unwrap().1, KeySource::Configured);
        let bad = Config {
            server_key: Some("short".into()),
            ..config
        };
        assert!(matches!(load_or_create(&bad), Err(KeyError::Invalid(_))));
    }

    #[test]
    fn an_unwritable_data_directory_without_a_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "not a directory").unwrap();
        let config = Config {
            data_dir: blocker.join("data"),
            ..Config::default()
        };
        let message = load_or_create(&config).unwrap_err().to_string();
        assert!(message.contains("no server key is configured"), "{message}");
        assert!(message.contains("VITRINE_SERVER_KEY"), "{message}");
    }
}
