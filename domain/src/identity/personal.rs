//! Personal data of citizens, parsed into types that are valid once held, and masked for
//! anyone who does not need the clear value: 张*三, 410122********1234, 138****5678.

use chrono::NaiveDate;
use serde::Serialize;

use crate::{FieldError, Text};

/// An 18-character resident identity number (GB 11643-1999): region code, birth date, sequence,
/// check character. The check character and a real, past birth date are verified.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber(String);

/// Weights of the first 17 digits in the ISO 7064 MOD 11-2 checksum.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder 0..=10.
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl IdCardNumber {
    /// Parses and checks `raw`; `today` bounds the birth date (no one is born tomorrow).
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let s: String = raw.trim().to_ascii_uppercase();
        let invalid = |code, zh, en| FieldError::new("id_number", code, Text::new(zh, en));
        let chars: Vec<char> = s.chars().collect();
        let shape_ok = chars.len() == 18
            && chars[..17].iter().all(char::is_ascii_digit)
            && (chars[17].is_ascii_digit() || chars[17] == 'X');
        if !shape_ok {
            return Err(invalid(
                "id_number_format",
                "身份证号须为 18 位，前 17 位为数字，末位为数字或 X",
                "the ID number must be 18 characters: 17 digits and a digit or X",
            ));
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .ok()
            .filter(|d| *d <= today && *d >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(*d));
        if birth.is_none() {
            return Err(invalid(
                "id_number_birth_date",
                "身份证号中的出生日期无效",
                "the birth date in the ID number is not a real past date",
            ));
        }
        if check_char(&chars[..17]) != chars[17] {
            return Err(invalid(
                "id_number_checksum",
                "身份证号校验位不正确",
                "the ID number's check character is wrong",
            ));
        }
        Ok(Self(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").ok()
    }

    /// `410122********1234`
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

fn check_char(first17: &[char]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

impl std::fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdCardNumber({})", self.masked())
    }
}

/// A mainland mobile number (11 digits, 1[3-9]…), normalised without `+86`, spaces or dashes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let digits: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .unwrap_or(&digits);
        let ok = digits.len() == 11
            && digits.chars().all(|c| c.is_ascii_digit())
            && digits.starts_with('1')
            && matches!(digits.as_bytes()[1], b'3'..=b'9');
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err(FieldError::new(
                "phone",
                "invalid_phone",
                Text::new("手机号码格式不正确", "not a valid mainland mobile number"),
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// A person's name: 1 to 32 characters, letters and the middle dots of transliterated names
/// (阿卜杜·热合曼), no digits or symbols.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let ok = (1..=32).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '·' | '•' | '.' | ' '));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "name",
                "invalid_person_name",
                Text::new(
                    "姓名须为 1 至 32 个文字，不含数字或符号",
                    "the name must be 1 to 32 letters",
                ),
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `张*三`
    pub fn masked(&self) -> String {
        mask_name(&self.0)
    }
}

impl std::fmt::Debug for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// 张三 -> 张*; 张小三 -> 张*三; 欧阳小三 -> 欧**三.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Keeps the region code and the last four: `410122********1234`.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// Keeps the first three and the last four digits: `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// Keeps the first six characters (province, city, county) of an address: `河南省郑州市****`.
pub fn mask_address(address: &str) -> String {
    let head: String = address.chars().take(6).collect();
    if address.chars().count() <= 6 {
        return "*".repeat(address.chars().count());
    }
    format!("{head}****")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    /// Builds a valid number from 17 digits by computing its check character.
    fn with_check(first17: &str) -> String {
        let chars: Vec<char> = first17.chars().collect();
        format!("{first17}{}", check_char(&chars))
    }

    #[test]
    fn a_known_valid_id_number_parses() {
        // The GB 11643 standard's worked example.
        let id = IdCardNumber::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(
            IdCardNumber::parse(" 11010519491231002x ", today())
                .unwrap()
                .expose(),
            "11010519491231002X"
        );
    }

    #[test]
    fn every_wrong_check_character_is_refused() {
        let valid = with_check("41012219800101123");
        assert!(IdCardNumber::parse(&valid, today()).is_ok());
        for c in "0123456789X".chars() {
            let candidate = format!("{}{c}", &valid[..17]);
            let parsed = IdCardNumber::parse(&candidate, today());
            assert_eq!(parsed.is_ok(), candidate == valid, "{candidate}");
        }
    }

    #[test]
    fn a_single_digit_typo_is_always_caught() {
        let valid = with_check("41012219900215567");
        for pos in 0..17 {
            for d in '0'..='9' {
                let mut chars: Vec<char> = valid.chars().collect();
                if chars[pos] == d {
                    continue;
                }
                chars[pos] = d;
                let typo: String = chars.into_iter().collect();
                assert!(IdCardNumber::parse(&typo, today()).is_err(), "{typo}");
            }
        }
    }

    #[test]
    fn birth_dates_must_be_real_and_past() {
        let code = |s: &str| {
            IdCardNumber::parse(&with_check(s), today())
                .unwrap_err()
                .code
        };
        assert_eq!(code("41012219800230123"), "id_number_birth_date"); // 30 February
        assert_eq!(code("41012220270101123"), "id_number_birth_date"); // the future
        assert_eq!(code("41012218991231123"), "id_number_birth_date"); // before 1900
        assert!(IdCardNumber::parse(&with_check("41012220000229123"), today()).is_ok()); // leap day
        assert_eq!(
            IdCardNumber::parse("4101221980", today()).unwrap_err().code,
            "id_number_format"
        );
    }

    #[test]
    fn phones_are_normalised_and_masked() {
        assert_eq!(
            PhoneNumber::parse("+86 138-0013-8000").unwrap().expose(),
            "13800138000"
        );
        assert_eq!(
            PhoneNumber::parse("13800138000").unwrap().masked(),
            "138****8000"
        );
        assert!(PhoneNumber::parse("12800138000").is_err());
        assert!(PhoneNumber::parse("1380013800").is_err());
        assert!(PhoneNumber::parse("0371-62121234").is_err());
    }

    #[test]
    fn names_are_masked_in_the_middle() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("欧阳小三"), "欧**三");
        assert_eq!(
            PersonName::parse("阿卜杜·热合曼").unwrap().masked(),
            "阿*****曼"
        );
        assert!(PersonName::parse("张3").is_err());
        assert!(PersonName::parse("").is_err());
    }

    #[test]
    fn debug_output_never_shows_clear_values() {
        let id = IdCardNumber::parse("11010519491231002X", today()).unwrap();
        let phone = PhoneNumber::parse("13800138000").unwrap();
        let name = PersonName::parse("张小三").unwrap();
        let shown = format!("{id:?}{phone:?}{name:?}");
        assert!(!shown.contains("19491231") && !shown.contains("0013") && !shown.contains("小"));
    }

    #[test]
    fn addresses_keep_only_the_region() {
        assert_eq!(
            mask_address("河南省郑州市中牟县青年路 1 号"),
            "河南省郑州市****"
        );
        assert_eq!(mask_address("短地址"), "***");
    }
}
