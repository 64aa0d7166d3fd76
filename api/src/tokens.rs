//! Access tokens: short-lived HS256 JWTs bound to this service's issuer and audience, one kind
//! each for staff, citizens and integrator clients (`typ`), so a token of one kind never passes
//! as another. The header's `kid` names the signing key: retired keys keep verifying the tokens
//! they signed until those expire, so keys rotate without signing everyone out.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fengqiao_domain::Text;
use fengqiao_domain::identity::{Role, StaffAccount};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
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
    /// The account's token version when issued; a bump revokes the token.
    pub ver: i32,
    /// How the holder proved themselves: `pwd`, plus `otp` after a TOTP code.
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub common: Common,
}

/// What a citizen access token asserts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CitizenClaims {
    pub sub: Uuid,
    #[serde(flatten)]
    pub common: Common,
}

/// What an integrator client token asserts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientClaims {
    /// The client's public `client_id`.
    pub sub: String,
    /// Space-separated scopes granted.
    pub scope: String,
    #[serde(flatten)]
    pub common: Common,
}

/// The registered claims every token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Common {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// `staff`, `citizen` or `client`.
    pub typ: String,
}

pub struct TokenKeys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    staff_ttl_secs: u64,
    client_ttl_secs: u64,
}

pub struct TokenSettings<'a> {
    pub kid: &'a str,
    pub secret: &'a [u8],
    /// (kid, secret) of keys that verify only.
    pub retired: Vec<(&'a str, &'a [u8])>,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub access_ttl_secs: u64,
    pub client_ttl_secs: u64,
}

impl TokenKeys {
    pub fn new(s: TokenSettings<'_>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[s.issuer]);
        validation.set_audience(&[s.audience]);
        validation.leeway = 30;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut decoding: HashMap<String, DecodingKey> = s
            .retired
            .iter()
            .map(|(kid, secret)| ((*kid).to_owned(), DecodingKey::from_secret(secret)))
            .collect();
        decoding.insert(s.kid.to_owned(), DecodingKey::from_secret(s.secret));
        Self {
            current_kid: s.kid.to_owned(),
            encoding: EncodingKey::from_secret(s.secret),
            decoding,
            validation,
            issuer: s.issuer.to_owned(),
            audience: s.audience.to_owned(),
            staff_ttl_secs: s.access_ttl_secs,
            client_ttl_secs: s.client_ttl_secs,
        }
    }

    /// Lifetime of staff and citizen access tokens.
    pub fn ttl_secs(&self) -> u64 {
        self.staff_ttl_secs
    }

    pub fn client_ttl_secs(&self) -> u64 {
        self.client_ttl_secs
    }

    fn common(&self, typ: &str, now: DateTime<Utc>, ttl_secs: u64) -> Common {
        Common {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(ttl_secs).unwrap_or(900),
            jti: Uuid::new_v4(),
            typ: typ.to_owned(),
        }
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Checks the header's key id and algorithm, the signature, issuer, audience, expiry and
    /// kind. `alg: none`, another algorithm, an unknown `kid`, a tampered or expired token all
    /// give the same 401.
    fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        kind: impl Fn(&T) -> &Common,
    ) -> Result<T, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid_token());
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(invalid_token)?;
        let claims = jsonwebtoken::decode::<T>(token, key, &self.validation)
            .map_err(|e| {
                tracing::debug!(reason = %e, "access token refused");
                invalid_token()
            })?
            .claims;
        if kind(&claims).typ != typ {
            return Err(invalid_token());
        }
        Ok(claims)
    }

    /// Signs an access token for `account`; `amr` records how they signed in.
    pub fn issue_staff(
        &self,
        account: &StaffAccount,
        amr: &[&str],
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        self.sign(&StaffClaims {
            sub: account.id,
            org: account.org_unit_id,
            roles: account.roles.iter().collect(),
            ver: account.token_version,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            common: self.common("staff", now, self.staff_ttl_secs),
        })
    }

    pub fn verify_staff(&self, token: &str) -> Result<StaffClaims, ApiError> {
        self.verify(token, "staff", |c: &StaffClaims| &c.common)
    }

    pub fn issue_citizen(&self, citizen_id: Uuid, now: DateTime<Utc>) -> Result<String, ApiError> {
        self.sign(&CitizenClaims {
            sub: citizen_id,
            common: self.common("citizen", now, self.staff_ttl_secs),
        })
    }

    pub fn verify_citizen(&self, token: &str) -> Result<CitizenClaims, ApiError> {
        self.verify(token, "citizen", |c: &CitizenClaims| &c.common)
    }

    pub fn issue_client(
        &self,
        client_id: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        self.sign(&ClientClaims {
            sub: client_id.to_owned(),
            scope: scope.to_owned(),
            common: self.common("client", now, self.client_ttl_secs),
        })
    }

    pub fn verify_client(&self, token: &str) -> Result<ClientClaims, ApiError> {
        self.verify(token, "client", |c: &ClientClaims| &c.common)
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(
        kid: &'static str,
        secret: &'static [u8],
        retired: Vec<(&'static str, &'static [u8])>,
    ) -> TokenKeys {
        TokenKeys::new(TokenSettings {
            kid,
            secret,
            retired,
            issuer: "fengqiao",
            audience: "fengqiao-api",
            access_ttl_secs: 900,
            client_ttl_secs: 3600,
        })
    }

    const S1: &[u8] = b"first-secret-first-secret-first-secret";
    const S2: &[u8] = b"second-secret-second-secret-second-sec";

    #[test]
    fn tokens_signed_by_a_retired_key_verify_until_it_is_removed() {
        let id = Uuid::now_v7();
        let old = keys("k1", S1, vec![])
            .issue_citizen(id, Utc::now())
            .unwrap();
        let rotated = keys("k2", S2, vec![("k1", S1)]);
        assert_eq!(rotated.verify_citizen(&old).unwrap().sub, id);
        let new = rotated.issue_citizen(id, Utc::now()).unwrap();
        assert!(jsonwebtoken::decode_header(&new).unwrap().kid.as_deref() == Some("k2"));
        assert!(
            keys("k2", S2, vec![]).verify_citizen(&old).is_err(),
            "retired key removed"
        );
    }

    #[test]
    fn alg_none_another_algorithm_or_kind_and_expiry_are_refused() {
        let k = keys("k1", S1, vec![]);
        let id = Uuid::now_v7();
        let good = k.issue_citizen(id, Utc::now()).unwrap();
        let payload = good.split('.').nth(1).unwrap();

        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        assert!(
            k.verify_citizen(&format!("{none_header}.{payload}."))
                .is_err()
        );

        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT","kid":"k1"}"#);
        let sig = good.split('.').nth(2).unwrap();
        assert!(
            k.verify_citizen(&format!("{hs512}.{payload}.{sig}"))
                .is_err()
        );

        assert!(
            k.verify_staff(&good).is_err(),
            "a citizen token is not a staff token"
        );
        assert!(k.verify_client(&good).is_err());

        let expired = k
            .issue_citizen(id, Utc::now() - chrono::Duration::hours(2))
            .unwrap();
        assert!(k.verify_citizen(&expired).is_err());

        let other_audience = TokenKeys::new(TokenSettings {
            kid: "k1",
            secret: S1,
            retired: vec![],
            issuer: "fengqiao",
            audience: "someone-else",
            access_ttl_secs: 900,
            client_ttl_secs: 3600,
        })
        .issue_citizen(id, Utc::now())
        .unwrap();
        assert!(k.verify_citizen(&other_audience).is_err());
    }
}
