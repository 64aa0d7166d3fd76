//! Citizens: what a WeChat identity may do before and after real-name registration, the
//! fate of a presented refresh token, and the scopes integrator clients can hold.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DomainError, FieldError, Text};

/// What a citizen has proven about themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenStanding {
    /// Name, ID number and phone are on record (实名).
    pub real_name: bool,
    pub phone_bound: bool,
}

impl CitizenStanding {
    /// Accusations (检举控告类) and booked receptions need a real name: the accuser must be
    /// reachable and protected, and a reception place is personal.
    pub fn require_real_name(&self) -> Result<(), DomainError> {
        if self.real_name {
            Ok(())
        } else {
            Err(DomainError::Forbidden {
                code: "real_name_required",
                message: Text::new(
                    "请先完成实名登记（姓名、身份证号、手机号）",
                    "register your real name (name, ID number and phone) first",
                ),
            })
        }
    }
}

/// The state of a presented refresh token, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshTokenState {
    pub used: bool,
    pub revoked: bool,
    pub expired: bool,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshVerdict {
    /// Valid and unused: issue a new pair in the same family and mark this one used.
    Rotate,
    /// Already used: someone replays a stolen token (or the owner does after theft). Revoke
    /// the whole family so both thief and owner must sign in again.
    RevokeFamily,
    /// Expired or revoked: refuse.
    Refuse,
}

impl RefreshTokenState {
    pub fn verdict(self) -> RefreshVerdict {
        if self.revoked || self.expired {
            RefreshVerdict::Refuse
        } else if self.used {
            RefreshVerdict::RevokeFamily
        } else {
            RefreshVerdict::Rotate
        }
    }
}

/// What an integrator client may do.
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
pub enum ClientScope {
    #[serde(rename = "petitions:read")]
    PetitionsRead,
    #[serde(rename = "petitions:write")]
    PetitionsWrite,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "escalations:write")]
    EscalationsWrite,
}

impl ClientScope {
    pub const ALL: [ClientScope; 4] = [
        ClientScope::PetitionsRead,
        ClientScope::PetitionsWrite,
        ClientScope::WebhooksManage,
        ClientScope::EscalationsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientScope::PetitionsRead => "petitions:read",
            ClientScope::PetitionsWrite => "petitions:write",
            ClientScope::WebhooksManage => "webhooks:manage",
            ClientScope::EscalationsWrite => "escalations:write",
        }
    }

    /// Parses an OAuth 2 space-separated scope list; empty is refused.
    pub fn parse_list(raw: &str) -> Result<Vec<ClientScope>, FieldError> {
        let mut scopes = raw
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<ClientScope>, _>>()?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(FieldError::new(
                "scopes",
                "scopes_required",
                Text::new("至少需要一个权限范围", "at least one scope is required"),
            ));
        }
        Ok(scopes)
    }

    pub fn join(scopes: &[ClientScope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for ClientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientScope {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientScope::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "scopes",
                    "unknown_scope",
                    Text::owned(format!("未知权限范围：{s}"), format!("unknown scope: {s}")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_name_gates_accusations_and_bookings() {
        let anonymous = CitizenStanding {
            real_name: false,
            phone_bound: true,
        };
        assert!(matches!(
            anonymous.require_real_name(),
            Err(DomainError::Forbidden {
                code: "real_name_required",
                ..
            })
        ));
        assert!(
            CitizenStanding {
                real_name: true,
                phone_bound: true
            }
            .require_real_name()
            .is_ok()
        );
    }

    #[test]
    fn a_reused_refresh_token_revokes_its_family() {
        let fresh = RefreshTokenState {
            used: false,
            revoked: false,
            expired: false,
        };
        assert_eq!(fresh.verdict(), RefreshVerdict::Rotate);
        assert_eq!(
            RefreshTokenState {
                used: true,
                ..fresh
            }
            .verdict(),
            RefreshVerdict::RevokeFamily
        );
        assert_eq!(
            RefreshTokenState {
                revoked: true,
                used: true,
                ..fresh
            }
            .verdict(),
            RefreshVerdict::Refuse
        );
        assert_eq!(
            RefreshTokenState {
                expired: true,
                ..fresh
            }
            .verdict(),
            RefreshVerdict::Refuse
        );
    }

    #[test]
    fn scope_lists_parse_like_oauth() {
        let scopes =
            ClientScope::parse_list("petitions:write  petitions:read petitions:read").unwrap();
        assert_eq!(
            scopes,
            vec![ClientScope::PetitionsRead, ClientScope::PetitionsWrite]
        );
        assert_eq!(ClientScope::join(&scopes), "petitions:read petitions:write");
        assert_eq!(
            ClientScope::parse_list("admin").unwrap_err().code,
            "unknown_scope"
        );
        assert_eq!(
            ClientScope::parse_list(" ").unwrap_err().code,
            "scopes_required"
        );
    }
}
