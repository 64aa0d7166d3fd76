use crate::{FieldError, Text};

/// A password that meets the staff policy: at least 12 characters, with at least three of the
/// four classes (lowercase, uppercase, digit, other), and not containing the username.
/// Length beats composition for strength; the class rule only rules out the trivially guessable.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

impl NewPassword {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str, username: &str) -> Result<Self, FieldError> {
        let invalid = |code, zh, en| FieldError::new("password", code, Text::new(zh, en));
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(invalid(
                "password_too_short",
                "密码至少需要 12 个字符",
                "the password must be at least 12 characters long",
            ));
        }
        if len > Self::MAX_LEN {
            return Err(invalid(
                "password_too_long",
                "密码不能超过 128 个字符",
                "the password must be at most 128 characters long",
            ));
        }
        let classes = [
            raw.chars().any(|c| c.is_lowercase()),
            raw.chars().any(|c| c.is_uppercase()),
            raw.chars().any(|c| c.is_ascii_digit()),
            raw.chars().any(|c| !c.is_alphanumeric()),
        ]
        .into_iter()
        .filter(|present| *present)
        .count();
        if classes < 3 {
            return Err(invalid(
                "password_too_simple",
                "密码须包含小写字母、大写字母、数字、符号中的至少三类",
                "the password must mix at least three of: lowercase, uppercase, digits, symbols",
            ));
        }
        if !username.is_empty() && raw.to_lowercase().contains(&username.to_lowercase()) {
            return Err(invalid(
                "password_contains_username",
                "密码不能包含用户名",
                "the password must not contain the username",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_mixed_password_passes() {
        assert!(NewPassword::parse("Fengqiao-2026-ok", "admin").is_ok());
    }

    #[test]
    fn weak_passwords_are_refused_with_their_reason() {
        let code = |p: &str| NewPassword::parse(p, "admin").unwrap_err().code;
        assert_eq!(code("Short1!"), "password_too_short");
        assert_eq!(code("alllowercaseletters"), "password_too_simple");
        assert_eq!(code("Admin-password-1"), "password_contains_username");
        assert_eq!(code(&"Aa1!".repeat(40)), "password_too_long");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = NewPassword::parse("Fengqiao-2026-ok", "x").unwrap();
        assert!(!format!("{p:?}").contains("Fengqiao"));
    }
}
