//! Who acts: staff roles, account names and the password policy. Citizens, real-name data and
//! masking join this module with the identity capability.

mod access;
mod citizen;
mod password;
mod personal;
mod role;
mod username;

pub use access::{LockoutPolicy, OrgScope, StaffChange};
pub use citizen::{CitizenStanding, ClientScope, RefreshTokenState, RefreshVerdict};
pub use password::NewPassword;
pub use personal::{
    IdCardNumber, PersonName, PhoneNumber, mask_address, mask_id_number, mask_name, mask_phone,
};
pub use role::{Role, Roles};
pub use username::Username;

/// A staff member as the rest of the service sees them (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaffAccount {
    pub id: uuid::Uuid,
    pub username: String,
    pub display_name: String,
    pub org_unit_id: uuid::Uuid,
    pub roles: Roles,
    pub active: bool,
    /// Tokens carrying an older version are refused (logout, deactivation, role change).
    pub token_version: i32,
    pub totp_enabled: bool,
}
