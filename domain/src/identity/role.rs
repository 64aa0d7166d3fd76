use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{FieldError, Text};

/// A staff role. A person may hold several; what each allows is decided where the action's
/// rule lives, by asking `Roles::has`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 登记员: registers letters, visits and calls on the citizen's behalf.
    Registrar,
    /// 承办人: handles cases assigned to their organisation.
    Handler,
    /// 督查督办: follows progress and issues supervision orders.
    Supervisor,
    /// 包案领导: owns difficult cases.
    Leader,
    /// 内容编辑: edits the guide, the news and the reception schedule.
    Editor,
    /// 系统管理员: manages organisations, staff and roles.
    Administrator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Registrar,
        Role::Handler,
        Role::Supervisor,
        Role::Leader,
        Role::Editor,
        Role::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::Handler => "handler",
            Role::Supervisor => "supervisor",
            Role::Leader => "leader",
            Role::Editor => "editor",
            Role::Administrator => "administrator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "role",
                    "unknown_role",
                    Text::owned(format!("未知角色：{s}"), format!("unknown role: {s}")),
                )
            })
    }
}

/// The set of roles one account holds; never empty for an active account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(mut roles: Vec<Role>) -> Self {
        roles.sort();
        roles.dedup();
        Self(roles)
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert_eq!("root".parse::<Role>().unwrap_err().code, "unknown_role");
    }

    #[test]
    fn roles_are_a_set() {
        let roles = Roles::new(vec![Role::Editor, Role::Registrar, Role::Editor]);
        assert_eq!(roles.iter().count(), 2);
        assert!(roles.has(Role::Editor));
        assert!(!roles.has(Role::Administrator));
        assert!(roles.has_any(&[Role::Administrator, Role::Registrar]));
    }
}
