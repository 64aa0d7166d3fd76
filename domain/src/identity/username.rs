use serde::Serialize;

use crate::{FieldError, Text};

/// A staff login name: 3 to 32 characters of lowercase ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter. Case-folded on parse, so `Admin` and `admin` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_ascii_lowercase();
        let invalid = |code, zh, en| FieldError::new("username", code, Text::new(zh, en));
        if !(3..=32).contains(&s.chars().count()) {
            return Err(invalid(
                "username_length",
                "用户名长度须为 3 至 32 个字符",
                "the username must be 3 to 32 characters long",
            ));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(invalid(
                "username_start",
                "用户名须以英文字母开头",
                "the username must start with a letter",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid(
                "username_charset",
                "用户名只能包含英文字母、数字、点、下划线和连字符",
                "the username may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_case_folded_and_trimmed() {
        assert_eq!(Username::parse("  Admin.Li ").unwrap().as_str(), "admin.li");
    }

    #[test]
    fn bad_usernames_say_why() {
        assert_eq!(Username::parse("ab").unwrap_err().code, "username_length");
        assert_eq!(Username::parse("1abc").unwrap_err().code, "username_start");
        assert_eq!(
            Username::parse("abc def").unwrap_err().code,
            "username_charset"
        );
        assert_eq!(
            Username::parse("张三丰").unwrap_err().code,
            "username_start"
        );
    }
}
