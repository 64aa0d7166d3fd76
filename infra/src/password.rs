//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), stored as
//! PHC strings so parameters can be raised later without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;
use rand::distr::Alphanumeric;

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// Whether `password` matches `stored`; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password that meets the staff policy, for bootstrap accounts (shown once).
pub fn generate() -> String {
    let body: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    // The fixed tail guarantees every character class the policy asks for.
    format!("{body}-Fq7")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let stored = hash("Fengqiao-2026-ok").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("Fengqiao-2026-ok", &stored));
        assert!(!verify("Fengqiao-2026-no", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        let p = generate();
        assert!(fengqiao_domain::identity::NewPassword::parse(&p, "admin").is_ok());
        assert_ne!(p, generate());
    }
}
