//! A generic HTTP SMS gateway. Most Chinese gateways (and the county's own SMS platform) take
//! the same four things: the number, a signature name, a registered template and its
//! parameters. This adapter sends them as one JSON POST:
//!
//! ```text
//! POST {sms.endpoint}
//! Authorization: Bearer {sms.api_key}
//! {"phone":"13800000000","sign_name":"中牟信访","template_id":"SMS_1","params":{"no":"ZM…"},
//!  "out_id":"<delivery id, the idempotency key>"}
//! ```
//!
//! A 2xx answer is delivered unless its JSON `code` says otherwise (`"OK"`, `"0"` or `0` mean
//! success); 408, 429 and 5xx, timeouts and refused connections are worth retrying; any other
//! 4xx, or a 2xx with an error code, is not (a bad number or template will not get better).
//! The phone number is never logged.

use std::time::Duration;

use fengqiao_domain::messaging::AttemptOutcome;
use reqwest::Url;
use serde_json::Value;
use uuid::Uuid;

use crate::config::SmsSettings;
use crate::http::describe_network_error;

#[derive(Debug, Clone)]
pub struct SmsGateway {
    http: reqwest::Client,
    endpoint: Option<Url>,
    api_key: String,
    sign_name: String,
}

/// One text message.
pub struct Sms<'a> {
    pub phone: &'a str,
    pub template_id: &'a str,
    pub params: &'a [(String, String)],
    /// The delivery's id, so the gateway can drop a repeat.
    pub out_id: Uuid,
}

impl SmsGateway {
    pub fn new(settings: &SmsSettings) -> Result<Self, String> {
        let endpoint = match settings.endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let url = Url::parse(url).map_err(|e| format!("sms.endpoint: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err("sms.endpoint must be an http(s) URL".into());
                }
                Some(url)
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint,
            api_key: settings
                .api_key
                .as_ref()
                .map(|k| k.expose().to_owned())
                .unwrap_or_default(),
            sign_name: settings.sign_name.clone(),
        })
    }

    /// Whether a gateway is configured at all: without one, no SMS delivery is planned.
    pub fn is_configured(&self) -> bool {
        self.endpoint.is_some()
    }

    pub async fn send(&self, sms: &Sms<'_>) -> AttemptOutcome {
        let Some(endpoint) = &self.endpoint else {
            return AttemptOutcome::Permanent {
                error: "no SMS gateway is configured".into(),
            };
        };
        let params: serde_json::Map<String, Value> = sms
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut request = self.http.post(endpoint.clone()).json(&serde_json::json!({
            "phone": sms.phone,
            "sign_name": self.sign_name,
            "template_id": sms.template_id,
            "params": params,
            "out_id": sms.out_id,
        }));
        if !self.api_key.is_empty() {
            request = request.bearer_auth(&self.api_key);
        }
        let (status, body) = match async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await
        {
            Ok(answer) => answer,
            Err(e) => {
                return AttemptOutcome::Retry {
                    error: format!("SMS gateway: {}", describe_network_error(e)),
                };
            }
        };
        classify(status.as_u16(), &body)
    }
}

fn classify(status: u16, body: &[u8]) -> AttemptOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let said = || {
        json.as_ref()
            .and_then(|v| v.get("message").or_else(|| v.get("msg")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    };
    match status {
        200..=299 => {
            let code = json.as_ref().and_then(|v| v.get("code"));
            match code {
                None | Some(Value::Null) => AttemptOutcome::Delivered,
                Some(Value::String(c)) if c == "OK" || c == "0" => AttemptOutcome::Delivered,
                Some(Value::Number(n)) if n.as_i64() == Some(0) => AttemptOutcome::Delivered,
                Some(other) => AttemptOutcome::Permanent {
                    error: format!("SMS gateway refused: code {other} {}", said()),
                },
            }
        }
        408 | 429 | 500..=599 => AttemptOutcome::Retry {
            error: format!("SMS gateway: HTTP {status} {}", said()),
        },
        _ => AttemptOutcome::Permanent {
            error: format!("SMS gateway refused: HTTP {status} {}", said()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_what_retrying_can_change() {
        assert_eq!(
            classify(200, b"{\"code\":\"OK\"}"),
            AttemptOutcome::Delivered
        );
        assert_eq!(classify(200, b"{\"code\":0}"), AttemptOutcome::Delivered);
        assert_eq!(classify(204, b""), AttemptOutcome::Delivered);
        assert!(matches!(
            classify(200, b"{\"code\":\"isv.MOBILE_NUMBER_ILLEGAL\",\"message\":\"bad number\"}"),
            AttemptOutcome::Permanent { error } if error.contains("MOBILE_NUMBER_ILLEGAL")
        ));
        assert!(matches!(classify(503, b""), AttemptOutcome::Retry { .. }));
        assert!(matches!(classify(429, b""), AttemptOutcome::Retry { .. }));
        assert!(matches!(
            classify(400, b"{}"),
            AttemptOutcome::Permanent { .. }
        ));
    }
}
