//! Personal data at rest: authenticated encryption with a key id, so keys rotate without
//! re-encrypting everything at once, and keyed hashes for exact-match lookup without decrypting.
//!
//! A sealed value is `{key_id}:{base64(nonce ‖ ciphertext ‖ tag)}`. The cipher is AES-256-GCM or
//! SM4-GCM (国密), fixed per key. Every value is sealed with a *context* (such as
//! `citizens.id_number`) as associated data, so a ciphertext copied into another column does
//! not open there. Lookup hashes are HMAC-SHA-256 under a separate, stable key: rotating the
//! encryption key leaves them valid.

use std::collections::HashMap;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::CipherKind;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key {0}: {1}")]
    BadKey(String, &'static str),
    #[error("sealed with unknown key {0}")]
    UnknownKey(String),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not authenticate (wrong key, context or tampered)")]
    Inauthentic,
}

/// One key of the ring, as configuration gives it.
pub struct KeySpec<'a> {
    pub id: &'a str,
    pub cipher: CipherKind,
    /// Base64 of the raw key: 32 bytes for AES-256, 16 for SM4.
    pub key_base64: &'a str,
}

enum Cipher {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

impl Cipher {
    fn new(spec: &KeySpec<'_>) -> Result<Self, CryptoError> {
        let raw = STANDARD
            .decode(spec.key_base64.trim())
            .map_err(|_| CryptoError::BadKey(spec.id.to_owned(), "not base64"))?;
        let bad_len = || CryptoError::BadKey(spec.id.to_owned(), "wrong length for its cipher");
        Ok(match spec.cipher {
            CipherKind::Aes256Gcm => Cipher::Aes(Box::new(
                Aes256Gcm::new_from_slice(&raw).map_err(|_| bad_len())?,
            )),
            CipherKind::Sm4Gcm => Cipher::Sm4(Box::new(
                Sm4Gcm::new_from_slice(&raw).map_err(|_| bad_len())?,
            )),
        })
    }

    fn seal(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg, aad };
        match self {
            Cipher::Aes(c) => c.encrypt(&(*nonce).into(), payload).ok(),
            Cipher::Sm4(c) => c.encrypt(&(*nonce).into(), payload).ok(),
        }
    }

    fn open(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg, aad };
        match self {
            Cipher::Aes(c) => c.decrypt(&(*nonce).into(), payload).ok(),
            Cipher::Sm4(c) => c.decrypt(&(*nonce).into(), payload).ok(),
        }
    }
}

/// The current key (seals), retired keys (still open old values) and the lookup key.
pub struct Keyring {
    current: String,
    keys: HashMap<String, Cipher>,
    lookup: Hmac<Sha256>,
}

impl Keyring {
    pub fn new(
        current: KeySpec<'_>,
        retired: &[KeySpec<'_>],
        lookup_key: &[u8],
    ) -> Result<Self, CryptoError> {
        let mut keys = HashMap::new();
        for spec in retired.iter().chain(std::iter::once(&current)) {
            if spec.id.is_empty() || spec.id.contains(':') {
                return Err(CryptoError::BadKey(
                    spec.id.to_owned(),
                    "a key id must be non-empty without ':'",
                ));
            }
            keys.insert(spec.id.to_owned(), Cipher::new(spec)?);
        }
        let lookup = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(lookup_key)
            .map_err(|_| CryptoError::BadKey("lookup".into(), "unusable HMAC key"))?;
        Ok(Self {
            current: current.id.to_owned(),
            keys,
            lookup,
        })
    }

    /// Encrypts `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<String, CryptoError> {
        let cipher = self
            .keys
            .get(&self.current)
            .ok_or_else(|| CryptoError::UnknownKey(self.current.clone()))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .seal(&nonce, plaintext.as_bytes(), context.as_bytes())
            .ok_or(CryptoError::Malformed)?;
        let mut blob = Vec::with_capacity(12 + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(format!("{}:{}", self.current, STANDARD.encode(blob)))
    }

    /// Decrypts a value sealed by `seal` under any key of the ring, for the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, CryptoError> {
        let (key_id, body) = sealed.split_once(':').ok_or(CryptoError::Malformed)?;
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let blob = STANDARD.decode(body).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let plain = cipher
            .open(&nonce, ciphertext, context.as_bytes())
            .ok_or(CryptoError::Inauthentic)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
    }

    /// Whether a sealed value should be re-sealed under the current key (key rotation).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .split_once(':')
            .is_some_and(|(id, _)| id == self.current)
    }

    /// A keyed hash of `value` for exact-match lookup, hex-encoded; bound to `context`.
    pub fn lookup_hash(&self, context: &str, value: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AES_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const AES_KEY_2: &str = "HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
    const SM4_KEY: &str = "AAECAwQFBgcICQoLDA0ODw==";

    fn ring(current: KeySpec<'_>, retired: &[KeySpec<'_>]) -> Keyring {
        Keyring::new(current, retired, b"lookup-key-for-tests").unwrap()
    }

    fn aes(id: &'static str, key: &'static str) -> KeySpec<'static> {
        KeySpec {
            id,
            cipher: CipherKind::Aes256Gcm,
            key_base64: key,
        }
    }

    #[test]
    fn both_ciphers_round_trip_and_never_show_the_clear_text() {
        for spec in [
            aes("k1", AES_KEY),
            KeySpec {
                id: "g1",
                cipher: CipherKind::Sm4Gcm,
                key_base64: SM4_KEY,
            },
        ] {
            let id = spec.id.to_owned();
            let ring = ring(spec, &[]);
            let sealed = ring.seal("citizens.name", "张小三").unwrap();
            assert!(sealed.starts_with(&format!("{id}:")));
            assert!(!sealed.contains("张小三"));
            assert_eq!(ring.open("citizens.name", &sealed).unwrap(), "张小三");
            assert_ne!(
                sealed,
                ring.seal("citizens.name", "张小三").unwrap(),
                "fresh nonce each time"
            );
        }
    }

    #[test]
    fn a_value_moved_to_another_column_or_tampered_with_does_not_open() {
        let ring = ring(aes("k1", AES_KEY), &[]);
        let sealed = ring.seal("citizens.name", "张小三").unwrap();
        assert!(matches!(
            ring.open("citizens.phone", &sealed),
            Err(CryptoError::Inauthentic)
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            ring.open("citizens.name", &String::from_utf8(tampered).unwrap())
                .is_err()
        );
        assert!(matches!(
            ring.open("citizens.name", "k9:AAAA"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn old_values_open_after_a_key_rotation() {
        let old = ring(aes("k1", AES_KEY), &[]);
        let sealed_before = old
            .seal("citizens.id_number", "11010519491231002X")
            .unwrap();
        let rotated = ring(aes("k2", AES_KEY_2), &[aes("k1", AES_KEY)]);
        assert!(!rotated.is_current(&sealed_before));
        assert_eq!(
            rotated.open("citizens.id_number", &sealed_before).unwrap(),
            "11010519491231002X"
        );
        let sealed_after = rotated
            .seal("citizens.id_number", "11010519491231002X")
            .unwrap();
        assert!(rotated.is_current(&sealed_after) && sealed_after.starts_with("k2:"));
        // The lookup hash does not depend on the encryption key.
        assert_eq!(
            old.lookup_hash("citizens.id_number", "11010519491231002X"),
            rotated.lookup_hash("citizens.id_number", "11010519491231002X")
        );
    }

    #[test]
    fn lookup_hashes_are_keyed_and_bound_to_their_context() {
        let a = ring(aes("k1", AES_KEY), &[]);
        let b = Keyring::new(aes("k1", AES_KEY), &[], b"another-lookup-key").unwrap();
        let h = a.lookup_hash("citizens.phone", "13800138000");
        assert_eq!(h.len(), 64);
        assert_eq!(h, a.lookup_hash("citizens.phone", "13800138000"));
        assert_ne!(h, b.lookup_hash("citizens.phone", "13800138000"));
        assert_ne!(h, a.lookup_hash("staff.phone", "13800138000"));
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        let wrong = KeySpec {
            id: "g1",
            cipher: CipherKind::Sm4Gcm,
            key_base64: AES_KEY,
        };
        assert!(matches!(
            Keyring::new(wrong, &[], b"x"),
            Err(CryptoError::BadKey(..))
        ));
        assert!(Keyring::new(aes("bad:id", AES_KEY), &[], b"x").is_err());
    }
}
