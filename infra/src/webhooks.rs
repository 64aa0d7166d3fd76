//! Integrator webhooks, signed the Standard Webhooks way (the scheme Svix, OpenAI and others
//! publish, with verifying libraries in every language):
//!
//! ```text
//! webhook-id: <delivery id>            the idempotency key: the same on every retry
//! webhook-timestamp: <unix seconds>    refuse if far from now (replays)
//! webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>
//! ```
//!
//! The key is the base64 after `whsec_` in the endpoint's secret. Any 2xx is delivered; any
//! other answer, a timeout or a refused connection is retried. Redirects are not followed.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use fengqiao_domain::messaging::AttemptOutcome;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::http::describe_network_error;

const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

fn key_of(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// Whether a URL may receive deliveries: http(s) (https only when `https_only`), no
/// credentials in it, at most 2048 characters. Returns it trimmed.
pub fn acceptable_endpoint_url(raw: &str, https_only: bool) -> Option<String> {
    let url = raw.trim();
    let parsed = reqwest::Url::parse(url).ok()?;
    let scheme_ok = parsed.scheme() == "https" || (!https_only && parsed.scheme() == "http");
    // In production an integrator may not point the service at itself or the internal network
    // by address (a name that resolves there is not caught here; see the README).
    let host = parsed.host_str().unwrap_or_default();
    let internal = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => host.is_empty() || host.eq_ignore_ascii_case("localhost"),
    };
    let ok = scheme_ok
        && !(https_only && internal)
        && url.len() <= 2048
        && parsed.host_str().is_some()
        && parsed.username().is_empty()
        && parsed.password().is_none();
    ok.then(|| url.to_owned())
}

/// The `webhook-signature` value for one delivery.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = key_of(secret)?;
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// What a receiver does: recompute and compare in constant time, and refuse a timestamp more
/// than `tolerance` away from now. Kept here so the tests prove the documented recipe.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
    signature_header: &str,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> bool {
    let skew = (now.timestamp() - timestamp).unsigned_abs();
    if skew > tolerance.as_secs() {
        return false;
    }
    let Some(key) = key_of(secret) else {
        return false;
    };
    signature_header.split_whitespace().any(|candidate| {
        let Some(sig) = candidate
            .strip_prefix("v1,")
            .and_then(|b| B64.decode(b).ok())
        else {
            return false;
        };
        let Ok(mut mac) = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        mac.verify_slice(&sig).is_ok()
    })
}

#[derive(Debug, Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
}

impl WebhookSender {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout.max(Duration::from_secs(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Fengqiao-Webhooks/1")
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Self { http })
    }

    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> AttemptOutcome {
        let timestamp = now.timestamp();
        let Some(signature) = sign(secret, id, timestamp, body) else {
            return AttemptOutcome::Permanent {
                error: "the endpoint's signing secret is unreadable".into(),
            };
        };
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned());
        match request.send().await {
            Ok(response) if response.status().is_success() => AttemptOutcome::Delivered,
            Ok(response) => AttemptOutcome::Retry {
                error: format!("HTTP {}", response.status().as_u16()),
            },
            Err(e) => AttemptOutcome::Retry {
                error: describe_network_error(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_http_or_https_without_credentials() {
        assert!(acceptable_endpoint_url(" https://a.example/hook ", true).is_some());
        assert!(acceptable_endpoint_url("http://127.0.0.1:9/hook", false).is_some());
        assert!(acceptable_endpoint_url("http://a.example/hook", true).is_none());
        assert!(acceptable_endpoint_url("ftp://a.example/hook", false).is_none());
        assert!(acceptable_endpoint_url("https://u:p@a.example/", false).is_none());
        assert!(acceptable_endpoint_url("not a url", false).is_none());
        for internal in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest",
            "https://[::1]/hook",
            "https://localhost/hook",
        ] {
            assert!(
                acceptable_endpoint_url(internal, true).is_none(),
                "{internal}"
            );
        }
    }

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let secret = new_secret();
        let now = Utc::now();
        let ts = now.timestamp();
        let body = r#"{"type":"petition.accepted"}"#;
        let sig = sign(&secret, "msg_1", ts, body).unwrap();
        let tolerance = Duration::from_secs(300);
        assert!(verify(&secret, "msg_1", ts, body, &sig, now, tolerance));
        assert!(!verify(&secret, "msg_2", ts, body, &sig, now, tolerance));
        assert!(!verify(&secret, "msg_1", ts, "{}", &sig, now, tolerance));
        assert!(!verify(
            &new_secret(),
            "msg_1",
            ts,
            body,
            &sig,
            now,
            tolerance
        ));
        let late = now + chrono::Duration::minutes(10);
        assert!(!verify(&secret, "msg_1", ts, body, &sig, late, tolerance));
        // Several signatures (during a secret rotation): any one may match.
        let both = format!("v1,AAAA {sig}");
        assert!(verify(&secret, "msg_1", ts, body, &both, now, tolerance));
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
