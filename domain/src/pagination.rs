//! Keyset pagination: a page is "the next `limit` rows after this key". Cursors are opaque to
//! clients (base64url of the last key), so the key can change without breaking them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{FieldError, Text};

/// How many rows a page holds: 20 unless asked, never more than 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u64);

impl PageLimit {
    pub const DEFAULT: u64 = 20;
    pub const MAX: u64 = 100;

    pub fn parse(raw: Option<u64>) -> Result<Self, FieldError> {
        match raw {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            Some(_) => Err(FieldError::new(
                "limit",
                "invalid_limit",
                Text::new(
                    "limit 须在 1 至 100 之间",
                    "limit must be between 1 and 100",
                ),
            )),
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn after(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn key(&self) -> &str {
        &self.0
    }

    /// The key as the type the list is ordered by; a key of another shape is a bad cursor.
    pub fn parse_key<K: std::str::FromStr>(&self) -> Result<K, FieldError> {
        self.0.parse().map_err(|_| invalid_cursor())
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// The key of an optional `?cursor=` as the type the list is ordered by: `None` for the
    /// first page, an error for a cursor that is not one of ours.
    pub fn key_of<K: std::str::FromStr>(raw: Option<&str>) -> Result<Option<K>, FieldError> {
        raw.map(|r| Self::decode(r)?.parse_key()).transpose()
    }

    pub fn decode(raw: &str) -> Result<Self, FieldError> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Self)
            .ok_or_else(invalid_cursor)
    }
}

fn invalid_cursor() -> FieldError {
    FieldError::new(
        "cursor",
        "invalid_cursor",
        Text::new("分页游标无效", "the pagination cursor is not valid"),
    )
}

/// One page of rows plus where the next one starts (`None`: this was the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only proves there is more.
    pub fn from_overfetch(mut rows: Vec<T>, limit: PageLimit, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as u64 > limit.get();
        rows.truncate(limit.get() as usize);
        let next_cursor = if more {
            rows.last().map(|last| Cursor::after(key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_cursor_gives_its_key() {
        let c = Cursor::after("42").encode();
        assert_eq!(Cursor::key_of::<u32>(Some(&c)).unwrap(), Some(42));
        assert_eq!(Cursor::key_of::<u32>(None).unwrap(), None);
        assert!(Cursor::key_of::<u32>(Some("%%")).is_err());
        assert!(Cursor::key_of::<u32>(Some(&Cursor::after("x").encode())).is_err());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageLimit::parse(None).unwrap().get(), 20);
        assert_eq!(PageLimit::parse(Some(100)).unwrap().get(), 100);
        assert!(PageLimit::parse(Some(0)).is_err());
        assert!(PageLimit::parse(Some(101)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor::after("0193-abc");
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert_eq!(Cursor::decode("***").unwrap_err().code, "invalid_cursor");
    }

    #[test]
    fn an_overfetched_row_means_another_page() {
        let limit = PageLimit::parse(Some(2)).unwrap();
        let page = Page::from_overfetch(vec![1, 2, 3], limit, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.unwrap().key(), "2");
        let last = Page::from_overfetch(vec![1, 2], limit, |n| n.to_string());
        assert!(last.next_cursor.is_none());
    }
}
