//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock
//! skew either way), the second factor for staff.

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Totp};

const ISSUER: &str = "Fengqiao";

fn totp(secret: &[u8], account: &str) -> Result<Totp, String> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| e.to_string())
}

/// A new random 160-bit secret (the size RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// The `otpauth://` URI an authenticator app scans.
pub fn provisioning_uri(secret: &[u8], account: &str) -> Result<String, String> {
    totp(secret, account)?.to_url().map_err(|e| e.to_string())
}

/// The step a code matches at `unix_time`, if it matches (the caller refuses a step it has
/// already accepted).
pub fn check(secret: &[u8], code: &str, unix_time: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp(secret, "check").ok()?.check(code, unix_time)
}

/// The code for `unix_time` (tests and enrolment checks).
pub fn code_at(secret: &[u8], unix_time: u64) -> Option<String> {
    Some(totp(secret, "code").ok()?.generate(unix_time).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert!(check(secret, "287082", 59).is_some());
    }

    #[test]
    fn codes_hold_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let now = 1_795_000_000;
        let code = code_at(&secret, now).unwrap();
        assert!(check(&secret, &code, now + 30).is_some());
        assert!(check(&secret, &code, now - 30).is_some());
        assert!(check(&secret, &code, now + 90).is_none());
        assert!(check(&secret, "12345", now).is_none());
        assert!(check(&secret, "abcdef", now).is_none());
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let uri = provisioning_uri(&new_secret(), "admin").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("issuer=Fengqiao"));
    }
}
