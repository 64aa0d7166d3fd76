//! What a new petition must say, and the numbers it is given: a readable tracking number and a
//! query code (查询码) with which anyone holding both can follow it without an account.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Validator;
use crate::{DomainError, FieldError, Text};

/// The four online forms of the WeChat service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PetitionKind {
    /// 网上来访
    VisitRequest,
    /// 网上投诉
    Complaint,
    /// 网上建议
    Suggestion,
    /// 网上留言
    Message,
}

/// 信、访、网、电: how the petition came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Letter,
    Visit,
    Phone,
    /// An Open311 GeoReport v2 client: an internet channel (网) like `online`.
    Open311,
}

/// A group matter: how many people, and how many representatives they elected (at most 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupMatter {
    pub people: u32,
    pub representatives: u32,
}

/// A petition as submitted, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPetition {
    pub kind: PetitionKind,
    pub channel: Channel,
    pub category_code: String,
    pub title: String,
    pub content: String,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    pub location: Option<(f64, f64)>,
    pub group: Option<GroupMatter>,
    pub accused_org_id: Option<Uuid>,
}

/// Limits in the manner of the mayor's-mailbox systems: a short title, a bounded body;
/// details go in attachments.
pub const TITLE_CHARS: std::ops::RangeInclusive<usize> = 5..=25;
pub const CONTENT_CHARS: std::ops::RangeInclusive<usize> = 10..=600;
pub const MAX_REPRESENTATIVES: u32 = 5;

/// The raw fields of a submission.
pub struct Submission<'a> {
    pub kind: PetitionKind,
    pub channel: Channel,
    pub category_code: &'a str,
    pub title: &'a str,
    pub content: &'a str,
    pub township_id: Uuid,
    pub village_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub group: Option<GroupMatter>,
    pub accused_org_id: Option<Uuid>,
}

impl NewPetition {
    /// Checks every field and reports all that fail at once.
    pub fn parse(s: Submission<'_>) -> Result<Self, DomainError> {
        let mut v = Validator::new();
        let title = s.title.trim();
        if !TITLE_CHARS.contains(&title.chars().count()) {
            v.push(FieldError::new(
                "title",
                "invalid_title",
                Text::new(
                    "标题须为 5 至 25 个字",
                    "the title must be 5 to 25 characters",
                ),
            ));
        }
        let content = s.content.trim();
        if !CONTENT_CHARS.contains(&content.chars().count()) {
            v.push(FieldError::new(
                "content",
                "invalid_content",
                Text::new(
                    "内容须为 10 至 600 个字，详细材料请作为附件上传",
                    "the content must be 10 to 600 characters; put details in attachments",
                ),
            ));
        }
        let location = match (s.latitude, s.longitude) {
            (None, None) => None,
            (Some(lat), Some(lng))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
            {
                Some((lat, lng))
            }
            _ => {
                v.push(FieldError::new(
                    "latitude",
                    "invalid_location",
                    Text::new(
                        "地图位置须同时给出有效的纬度和经度",
                        "give both a valid latitude and longitude",
                    ),
                ));
                None
            }
        };
        if let Some(group) = s.group {
            if group.people < 2 {
                v.push(FieldError::new(
                    "group.people",
                    "invalid_group_size",
                    Text::new(
                        "集体事项至少涉及 2 人",
                        "a group matter involves at least 2 people",
                    ),
                ));
            }
            if !(1..=MAX_REPRESENTATIVES).contains(&group.representatives)
                || group.representatives > group.people
            {
                v.push(FieldError::new(
                    "group.representatives",
                    "too_many_representatives",
                    Text::new(
                        "多人提出同一信访事项的，推选代表不超过 5 人",
                        "a group elects 1 to 5 representatives, no more than its people",
                    ),
                ));
            }
        }
        if s.category_code.trim().is_empty() {
            v.push(FieldError::new(
                "category_code",
                "category_required",
                Text::new("请选择事项分类", "choose a category"),
            ));
        }
        let (title, content) = (title.to_owned(), content.to_owned());
        v.finish(|| {
            Some(NewPetition {
                kind: s.kind,
                channel: s.channel,
                category_code: s.category_code.trim().to_owned(),
                title,
                content,
                township_id: s.township_id,
                village_id: s.village_id,
                location,
                group: s.group,
                accused_org_id: s.accused_org_id,
            })
        })
    }
}

/// `ZM20261125000123`: the county's prefix, the registration day and that day's sequence.
pub fn tracking_number(prefix: &str, day: NaiveDate, sequence: u64) -> String {
    format!("{prefix}{}{sequence:06}", day.format("%Y%m%d"))
}

/// The alphabet of query codes: no 0/O, 1/I/L, so a code read over the phone is not misheard.
const QUERY_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const QUERY_CODE_LEN: usize = 8;

/// A query code from random bytes (one per character).
pub fn query_code(random: &[u8; QUERY_CODE_LEN]) -> String {
    random
        .iter()
        .map(|b| QUERY_ALPHABET[usize::from(*b) % QUERY_ALPHABET.len()] as char)
        .collect()
}

/// A presented query code, normalised (case and spaces do not matter).
pub fn normalise_query_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission<'a>(title: &'a str, content: &'a str) -> Submission<'a> {
        Submission {
            kind: PetitionKind::Complaint,
            channel: Channel::Online,
            category_code: "land",
            title,
            content,
            township_id: Uuid::now_v7(),
            village_id: None,
            latitude: None,
            longitude: None,
            group: None,
            accused_org_id: None,
        }
    }

    #[test]
    fn a_good_submission_parses_trimmed() {
        let p = NewPetition::parse(submission(
            "  村道路面破损  ",
            "村东头道路破损严重，雨天积水，请求维修。",
        ))
        .unwrap();
        assert_eq!(p.title, "村道路面破损");
    }

    #[test]
    fn every_failing_field_is_reported() {
        let mut s = submission("短", "太短");
        s.latitude = Some(200.0);
        s.group = Some(GroupMatter {
            people: 30,
            representatives: 6,
        });
        let DomainError::Validation(errors) = NewPetition::parse(s).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["title", "content", "latitude", "group.representatives"]
        );
    }

    #[test]
    fn tracking_numbers_and_query_codes_read_well() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(tracking_number("ZM", day, 123), "ZM20261125000123");
        let code = query_code(&[0, 1, 2, 3, 250, 251, 252, 255]);
        assert_eq!(code.len(), 8);
        assert!(code.chars().all(|c| QUERY_ALPHABET.contains(&(c as u8))));
        assert!(!code.contains(['0', 'O', '1', 'I']));
        assert_eq!(normalise_query_code(" abcd-efgh "), "ABCDEFGH");
    }
}
