//! Access tokens for staff: short-lived HS256 JWTs bound to this service's issuer and audience.
//! Refresh tokens, citizens' tokens and key rotation by `kid` come with the identity capability.

use chrono::{DateTime, Utc};
use fengqiao_domain::Text;
use fengqiao_domain::identity::{Role, StaffAccount};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// What a staff access token asserts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaffClaims {
    /// The staff account id.
    pub sub: Uuid,
    /// The account's organisation unit.
    pub org: Uuid,
    pub roles: Vec<Role>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// Token kind, so a citizen token can never pass as a staff token.
    pub typ: String,
}

const STAFF_TOKEN: &str = "staff";

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: u64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 30;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs an access token for `account`, valid from `now` for the configured lifetime.
    pub fn issue_staff(
        &self,
        account: &StaffAccount,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let claims = StaffClaims {
            sub: account.id,
            org: account.org_unit_id,
            roles: account.roles.iter().collect(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(self.ttl_secs).unwrap_or(900),
            jti: Uuid::new_v4(),
            typ: STAFF_TOKEN.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, issuer, audience, expiry and kind.
    pub fn verify_staff(&self, token: &str) -> Result<StaffClaims, ApiError> {
        let claims = jsonwebtoken::decode::<StaffClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::debug!(reason = %e, "access token refused");
                invalid_token()
            })?
            .claims;
        if claims.typ != STAFF_TOKEN {
            return Err(invalid_token());
        }
        Ok(claims)
    }
}

pub fn invalid_token() -> ApiError {
    ApiError::unauthorized(
        "invalid_token",
        Text::new(
            "访问令牌无效或已过期，请重新登录",
            "the access token is invalid or expired; sign in again",
        ),
    )
}
