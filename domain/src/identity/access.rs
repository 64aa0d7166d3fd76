//! Who may see what, and when a staff account locks after failed sign-ins.

use chrono::{DateTime, Duration, Utc};

use super::{Role, Roles};

/// The part of the organisation tree a staff member may see and act in. Repositories filter
/// by it where data is read, so no handler can forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgScope {
    /// The whole county (administrators).
    All,
    /// The unit with this materialised path ("/{root}/…/{unit}/") and everything below it.
    Subtree(String),
}

impl OrgScope {
    /// Administrators manage the whole tree; everyone else works in their own unit's subtree
    /// (a county-level supervisor's subtree is the whole county, a township clerk's is the
    /// township).
    pub fn for_staff(roles: &Roles, org_path: &str) -> Self {
        if roles.has(Role::Administrator) {
            OrgScope::All
        } else {
            OrgScope::Subtree(org_path.to_owned())
        }
    }

    pub fn covers(&self, path: &str) -> bool {
        match self {
            OrgScope::All => true,
            OrgScope::Subtree(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

/// Repeated failed sign-ins lock an account for a while; the count and lock live in the
/// database so they hold across instances.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

impl LockoutPolicy {
    pub fn is_locked(&self, locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        locked_until.is_some_and(|until| until > now)
    }

    /// The failure count after one more failure, and the lock it triggers, if any. The count
    /// restarts after a lock so the next lock needs as many failures again.
    pub fn after_failure(
        &self,
        failures_so_far: u32,
        now: DateTime<Utc>,
    ) -> (u32, Option<DateTime<Utc>>) {
        let failures = failures_so_far.saturating_add(1);
        if failures >= self.max_failures {
            (0, Some(now + self.lock_for))
        } else {
            (failures, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn administrators_see_everything_others_their_subtree() {
        let admin = OrgScope::for_staff(&Roles::new(vec![Role::Administrator]), "/c/t1/");
        assert!(admin.covers("/c/t2/v9/"));
        let clerk = OrgScope::for_staff(&Roles::new(vec![Role::Registrar]), "/c/t1/");
        assert!(clerk.covers("/c/t1/"));
        assert!(clerk.covers("/c/t1/v1/g1/"));
        assert!(!clerk.covers("/c/t2/"));
        assert!(!clerk.covers("/c/"), "not the parent");
    }

    #[test]
    fn the_fifth_failure_locks_for_the_configured_time() {
        let policy = LockoutPolicy {
            max_failures: 5,
            lock_for: Duration::minutes(15),
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let mut failures = 0;
        for _ in 0..4 {
            let (n, lock) = policy.after_failure(failures, now);
            assert!(lock.is_none());
            failures = n;
        }
        let (n, lock) = policy.after_failure(failures, now);
        assert_eq!(n, 0);
        let until = lock.unwrap();
        assert!(policy.is_locked(Some(until), now + Duration::minutes(14)));
        assert!(!policy.is_locked(Some(until), now + Duration::minutes(15)));
        assert!(!policy.is_locked(None, now));
    }
}

/// A change an administrator asks of a staff account, and what it would leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffChange {
    /// The administrator is changing their own account.
    pub own_account: bool,
    pub deactivates: bool,
    /// The account is an active administrator now and would not be after the change.
    pub ends_an_administrator: bool,
    /// Active administrators other than this account.
    pub other_administrators: u64,
}

impl StaffChange {
    /// Refuses what would lock the county out: deactivating oneself, or removing the last
    /// active administrator.
    pub fn check(&self) -> Result<(), crate::DomainError> {
        use crate::{DomainError, Text};
        if self.own_account && self.deactivates {
            return Err(DomainError::invalid(
                "active",
                "cannot_deactivate_self",
                Text::new(
                    "不能停用自己的账号",
                    "you cannot deactivate your own account",
                ),
            ));
        }
        if self.ends_an_administrator && self.other_administrators == 0 {
            return Err(DomainError::Conflict {
                code: "last_administrator",
                message: Text::new(
                    "这是最后一个有效的管理员账号，不能停用或取消其管理员角色",
                    "this is the last active administrator; it cannot be deactivated or lose the role",
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod staff_change_tests {
    use super::*;

    #[test]
    fn the_county_is_never_left_without_an_administrator() {
        let base = StaffChange {
            own_account: false,
            deactivates: true,
            ends_an_administrator: true,
            other_administrators: 0,
        };
        assert!(base.check().is_err());
        assert!(
            StaffChange {
                other_administrators: 1,
                ..base
            }
            .check()
            .is_ok()
        );
        assert!(
            StaffChange {
                own_account: true,
                other_administrators: 3,
                ..base
            }
            .check()
            .is_err()
        );
        assert!(
            StaffChange {
                ends_an_administrator: false,
                ..base
            }
            .check()
            .is_ok()
        );
    }
}
