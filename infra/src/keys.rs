//! Keys the embedded default makes for itself. In development an unset JWT secret is generated
//! once and kept in `data_dir`, so tokens survive restarts and no two installations share a key.
//! Production refuses to start without configured keys (see `config`).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

use crate::config::{Secret, Settings};

/// The configured JWT secret, or (development only) the one kept in `data_dir/jwt.key`.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Secret> {
    match &settings.auth.jwt_secret {
        Some(secret) => Ok(secret.clone()),
        None if settings.is_production() => {
            anyhow::bail!("auth.jwt_secret must be set in production")
        }
        None => load_or_create(&settings.data_dir.join("jwt.key")),
    }
}

fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= crate::config::MIN_SECRET_LEN {
            return Ok(Secret::new(existing));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = STANDARD.encode(bytes);
    write_private(path, &secret)?;
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_owned(),
            ..Settings::default()
        };
        let first = jwt_secret(&settings).unwrap();
        let second = jwt_secret(&settings).unwrap();
        assert_eq!(first, second);
        assert!(first.expose().len() >= 32);
    }
}
