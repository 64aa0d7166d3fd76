//! The organisation tree the county works in: county -> townships/streets -> villages/communities
//! -> villager groups, plus county departments. Staff belong to one unit; cases move along it.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{FieldError, Text};

/// What kind of unit a node of the tree is. The kind fixes where it may hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 县: the root.
    County,
    /// 乡镇
    Township,
    /// 街道
    Street,
    /// 村
    Village,
    /// 社区
    Community,
    /// 村民小组
    VillagerGroup,
    /// 县直部门
    Department,
}

impl OrgKind {
    pub const ALL: [OrgKind; 7] = [
        OrgKind::County,
        OrgKind::Township,
        OrgKind::Street,
        OrgKind::Village,
        OrgKind::Community,
        OrgKind::VillagerGroup,
        OrgKind::Department,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::County => "county",
            OrgKind::Township => "township",
            OrgKind::Street => "street",
            OrgKind::Village => "village",
            OrgKind::Community => "community",
            OrgKind::VillagerGroup => "villager_group",
            OrgKind::Department => "department",
        }
    }

    /// The depth below the county: 0 county; 1 township, street, department; 2 village,
    /// community; 3 villager group.
    pub fn level(self) -> u8 {
        match self {
            OrgKind::County => 0,
            OrgKind::Township | OrgKind::Street | OrgKind::Department => 1,
            OrgKind::Village | OrgKind::Community => 2,
            OrgKind::VillagerGroup => 3,
        }
    }

    /// Whether a unit of this kind may hang under a unit of `parent` kind (`None`: the root).
    pub fn may_hang_under(self, parent: Option<OrgKind>) -> bool {
        use OrgKind::*;
        matches!(
            (self, parent),
            (County, None)
                | (Township | Street | Department, Some(County))
                | (Village | Community, Some(Township | Street))
                | (VillagerGroup, Some(Village | Community))
        )
    }
}

impl FromStr for OrgKind {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "unknown_org_kind",
                    Text::owned(
                        format!("未知机构类型：{s}"),
                        format!("unknown organisation kind: {s}"),
                    ),
                )
            })
    }
}

/// A unit's stable code: 2 to 32 characters of ASCII letters, digits and `-`, such as the
/// administrative division code `410122` or `410122-dept-land`. Integrators route by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrgCode(String);

impl OrgCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let ok =
            (2..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "code",
                "invalid_org_code",
                Text::new(
                    "机构编码须为 2 至 32 位英文字母、数字或连字符",
                    "the organisation code must be 2 to 32 letters, digits or '-'",
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unit's display name, 1 to 64 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if (1..=64).contains(&s.chars().count()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "name",
                "invalid_org_name",
                Text::new(
                    "机构名称须为 1 至 64 个字符",
                    "the organisation name must be 1 to 64 characters",
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rule for adding a unit to the tree: its kind must fit under its parent's kind.
pub fn check_placement(kind: OrgKind, parent: Option<OrgKind>) -> Result<(), FieldError> {
    if kind.may_hang_under(parent) {
        return Ok(());
    }
    let (zh, en) = match parent {
        None => (
            "只有县级机构可以没有上级机构".to_owned(),
            "only the county may have no parent".to_owned(),
        ),
        Some(p) => (
            format!("{} 类机构不能隶属于 {} 类机构", kind.as_str(), p.as_str()),
            format!("a {} cannot belong to a {}", kind.as_str(), p.as_str()),
        ),
    };
    Err(FieldError::new(
        "parent_id",
        "invalid_org_parent",
        Text::owned(zh, en),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrgKind::*;

    #[test]
    fn the_tree_has_four_levels_and_departments_hang_under_the_county() {
        assert!(check_placement(County, None).is_ok());
        assert!(check_placement(Township, Some(County)).is_ok());
        assert!(check_placement(Department, Some(County)).is_ok());
        assert!(check_placement(Community, Some(Street)).is_ok());
        assert!(check_placement(VillagerGroup, Some(Village)).is_ok());
    }

    #[test]
    fn misplaced_units_are_refused() {
        assert!(check_placement(Village, Some(County)).is_err());
        assert!(check_placement(Township, None).is_err());
        assert!(check_placement(VillagerGroup, Some(Township)).is_err());
        assert!(check_placement(County, Some(County)).is_err());
        assert_eq!(
            check_placement(Village, Some(Department)).unwrap_err().code,
            "invalid_org_parent"
        );
    }

    #[test]
    fn levels_follow_the_tree() {
        for kind in OrgKind::ALL {
            assert_eq!(kind.as_str().parse::<OrgKind>().unwrap(), kind);
        }
        assert_eq!(VillagerGroup.level(), 3);
        assert_eq!(Department.level(), 1);
    }

    #[test]
    fn codes_and_names_are_checked() {
        assert!(OrgCode::parse("410122").is_ok());
        assert!(OrgCode::parse("410122-dept-land").is_ok());
        assert!(OrgCode::parse("x").is_err());
        assert!(OrgCode::parse("有中文").is_err());
        assert!(OrgName::parse("  ").is_err());
        assert_eq!(OrgName::parse(" 城关镇 ").unwrap().as_str(), "城关镇");
    }
}

/// A unit of the organisation tree as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgUnit {
    pub id: uuid::Uuid,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub level: u8,
    pub parent_id: Option<uuid::Uuid>,
    /// Materialised ancestry, "/{root}/…/{self}/".
    pub path: String,
    pub sort_order: i32,
    pub is_demo: bool,
}

/// The materialised path of a unit under `parent_path` ("" for the root).
pub fn child_path(parent_path: &str, id: uuid::Uuid) -> String {
    if parent_path.is_empty() {
        format!("/{id}/")
    } else {
        format!("{parent_path}{id}/")
    }
}

/// A unit to add: its fields already parsed.
#[derive(Debug, Clone)]
pub struct NewOrgUnit {
    pub code: OrgCode,
    pub name: OrgName,
    pub kind: OrgKind,
    pub parent_id: Option<uuid::Uuid>,
    pub sort_order: i32,
}
