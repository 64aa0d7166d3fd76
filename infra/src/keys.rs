//! Keys the embedded default makes for itself. In development an unset JWT secret, personal-data
//! key or lookup key is generated once and kept in `data_dir` (mode 0600), so tokens and sealed
//! data survive restarts and no two installations share a key. Production refuses to start
//! without configured keys (see `config`).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

use crate::config::{Secret, Settings};
use crate::crypto::{KeySpec, Keyring};

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

/// The keyring for personal data: the configured keys, or (development only) generated ones.
pub fn keyring(settings: &Settings) -> anyhow::Result<Keyring> {
    let crypto = &settings.crypto;
    let key = match &crypto.key {
        Some(key) => key.clone(),
        None if settings.is_production() => anyhow::bail!("crypto.key must be set in production"),
        None => load_or_create_sized(
            &settings
                .data_dir
                .join(format!("data-{}.key", crypto.cipher.name())),
            crypto.cipher.key_len(),
        )?,
    };
    let lookup = match &crypto.lookup_key {
        Some(key) => key.clone(),
        None if settings.is_production() => {
            anyhow::bail!("crypto.lookup_key must be set in production")
        }
        None => load_or_create(&settings.data_dir.join("lookup.key"))?,
    };
    let retired: Vec<KeySpec<'_>> = crypto
        .retired_keys
        .iter()
        .map(|k| KeySpec {
            id: &k.id,
            cipher: k.cipher,
            key_base64: k.key.expose(),
        })
        .collect();
    let current = KeySpec {
        id: &crypto.key_id,
        cipher: crypto.cipher,
        key_base64: key.expose(),
    };
    Ok(Keyring::new(current, &retired, lookup.expose().as_bytes())?)
}

fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
    load_or_create_sized(path, 48)
}

/// Reads a base64 key of `len` raw bytes from `path`, or makes one there.
fn load_or_create_sized(path: &Path, len: usize) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if STANDARD.decode(existing).map(|k| k.len()) == Ok(len) {
            return Ok(Secret::new(existing));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = vec![0u8; len];
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

    #[test]
    fn a_generated_keyring_opens_what_it_sealed_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_owned(),
            ..Settings::default()
        };
        let sealed = keyring(&settings).unwrap().seal("t.c", "秘密").unwrap();
        assert_eq!(
            keyring(&settings).unwrap().open("t.c", &sealed).unwrap(),
            "秘密"
        );
    }
}
