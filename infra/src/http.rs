//! What the adapters that call other services over HTTP share.

/// A failed HTTP call, said without its URL (which may carry a credential in its query).
pub(crate) fn describe_network_error(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        format!("request failed: {}", e.without_url())
    }
}
