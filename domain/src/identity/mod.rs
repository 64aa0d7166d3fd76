//! Who acts: staff roles, account names and the password policy. Citizens, real-name data and
//! masking join this module with the identity capability.

mod password;
mod role;
mod username;

pub use password::NewPassword;
pub use role::{Role, Roles};
pub use username::Username;
