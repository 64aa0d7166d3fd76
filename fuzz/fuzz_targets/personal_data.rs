//! ID card numbers, phone numbers and names as citizens and staff type them: parsing never
//! panics, what parses parses again to itself, and the masked forms star exactly what they hide.
#![no_main]

use fengqiao_domain::identity::{IdCardNumber, PersonName, PhoneNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    if let Ok(id) = IdCardNumber::parse(raw, today) {
        let again = IdCardNumber::parse(id.expose(), today).expect("a parsed number parses again");
        assert_eq!(again.expose(), id.expose());
        assert!(id.birth_date().is_some_and(|d| d <= today));
        // The region and the last four stay; the birth date and sequence are starred.
        let e = id.expose();
        assert_eq!(id.masked(), format!("{}********{}", &e[..6], &e[14..]));
    }
    if let Ok(phone) = PhoneNumber::parse(raw) {
        let again = PhoneNumber::parse(phone.expose()).expect("a parsed phone parses again");
        assert_eq!(again.expose(), phone.expose());
        let e = phone.expose();
        assert_eq!(phone.masked(), format!("{}****{}", &e[..3], &e[7..]));
    }
    if let Ok(name) = PersonName::parse(raw) {
        let again = PersonName::parse(name.expose()).expect("a parsed name parses again");
        assert_eq!(again.expose(), name.expose());
    }
});
