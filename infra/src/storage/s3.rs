//! An S3-compatible object store over plain HTTP, signed with AWS Signature Version 4.
//!
//! Every store a county is likely to run speaks this dialect (MinIO on its own servers, Ceph,
//! Alibaba OSS, Huawei OBS, Tencent COS, AWS S3), so one small adapter covers them all without a
//! vendor SDK. Path-style addressing (`endpoint/bucket/key`) is used: it works on every one of
//! them and needs no wildcard DNS. The payload is hashed into the signature, so a body altered
//! in transit is refused by the store.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fengqiao_domain::ports::{ObjectStorage, Unavailable};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::config::S3Settings;
use crate::http::describe_network_error;

const WHAT: &str = "object storage";

pub struct S3Storage {
    http: reqwest::Client,
    /// `endpoint/bucket`, without a trailing slash.
    base: Url,
    /// The `Host` header as signed: host, and the port when it is not the scheme's default.
    host: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage")
            .field("base", &self.base.as_str())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Storage {
    pub fn new(settings: &S3Settings) -> anyhow::Result<Self> {
        let endpoint = settings.endpoint.trim().trim_end_matches('/');
        let bucket = settings.bucket.trim();
        anyhow::ensure!(!bucket.is_empty(), "storage.s3.bucket is empty");
        anyhow::ensure!(
            bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
            "storage.s3.bucket {bucket:?} is not a valid bucket name"
        );
        let base = Url::parse(&format!("{endpoint}/{bucket}"))
            .map_err(|e| anyhow::anyhow!("storage.s3.endpoint {endpoint:?}: {e}"))?;
        anyhow::ensure!(
            matches!(base.scheme(), "http" | "https"),
            "storage.s3.endpoint must be an http(s) URL"
        );
        let host = match (base.host_str(), base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => anyhow::bail!("storage.s3.endpoint has no host"),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            // A store never needs to redirect a signed request; following one could leak it.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            base,
            host,
            region: settings.region.clone(),
            access_key_id: settings.access_key_id.clone(),
            secret_access_key: settings.secret_access_key.expose().to_owned(),
        })
    }

    async fn send(
        &self,
        method: Method,
        key: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, Unavailable> {
        if key.is_empty()
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Unavailable::new(WHAT, format!("unsafe key {key:?}")));
        }
        let path = format!("{}/{}", self.base.path(), uri_encode_path(key));
        let mut url = self.base.clone();
        url.set_path(&path);
        let payload_hash = hex::encode(Sha256::digest(&body));
        let now = Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let headers = [
            ("host", self.host.as_str()),
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", amz_date.as_str()),
        ];
        let authorization = authorization(
            &SigningKey {
                access_key_id: &self.access_key_id,
                secret_access_key: &self.secret_access_key,
                region: &self.region,
            },
            method.as_str(),
            &path,
            &headers,
            &payload_hash,
            now,
        );
        self.http
            .request(method, url)
            .header("x-amz-content-sha256", &payload_hash)
            .header("x-amz-date", &amz_date)
            .header("authorization", authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| Unavailable::new(WHAT, describe_network_error(e)))
    }
}

#[async_trait]
impl ObjectStorage for S3Storage {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Unavailable> {
        let response = self.send(Method::PUT, key, bytes.to_vec()).await?;
        match response.status() {
            s if s.is_success() => Ok(()),
            s => Err(refused(s, response).await),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        let response = self.send(Method::GET, key, Vec::new()).await?;
        match response.status() {
            s if s.is_success() => response
                .bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(|e| Unavailable::new(WHAT, describe_network_error(e))),
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(refused(s, response).await),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), Unavailable> {
        let response = self.send(Method::DELETE, key, Vec::new()).await?;
        match response.status() {
            // S3 answers 204 whether or not the object existed; some stores answer 404.
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            s => Err(refused(s, response).await),
        }
    }
}

/// The store said no: the status and the S3 error code (`<Code>…</Code>`), which names the cause
/// (`AccessDenied`, `NoSuchBucket`, `SignatureDoesNotMatch`) without echoing anything private.
async fn refused(status: StatusCode, response: reqwest::Response) -> Unavailable {
    let body = response.text().await.unwrap_or_default();
    let code = body
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.chars().take(64).collect::<String>())
        .unwrap_or_default();
    Unavailable::new(WHAT, format!("HTTP {status} {code}").trim_end().to_owned())
}

/// S3's URI encoding of a key: every byte but the unreserved ones is percent-encoded, `/` kept.
fn uri_encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct SigningKey<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    region: &'a str,
}

#[expect(
    clippy::expect_used,
    reason = "HMAC takes a key of any length, so the error cannot occur"
)]
fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC accepts a key of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header of Signature Version 4 for a request without a query string.
/// `headers`: the signed headers, lower-case names in sorted order.
fn authorization(
    key: &SigningKey<'_>,
    method: &str,
    canonical_uri: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
    now: DateTime<Utc>,
) -> String {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = now.format("%Y%m%d").to_string();
    let scope = format!("{day}/{}/s3/aws4_request", key.region);
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{canonical_uri}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{}", key.secret_access_key).as_bytes(), &day);
    let k_region = hmac(&k_date, key.region);
    let k_service = hmac(&k_region, "s3");
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex::encode(hmac(&k_signing, &string_to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        key.access_key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use chrono::TimeZone;
    use wiremock::matchers::{header, header_regex, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The worked example "GET Object" of Amazon's S3 Signature Version 4 documentation.
    #[test]
    fn the_signature_matches_amazons_published_example() {
        let key = SigningKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
        };
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let got = authorization(
            &key,
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", empty),
                ("x-amz-date", "20130524T000000Z"),
            ],
            empty,
            Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap(),
        );
        assert_eq!(
            got,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    fn settings(endpoint: &str) -> S3Settings {
        S3Settings {
            endpoint: endpoint.into(),
            bucket: "petitions".into(),
            region: "cn-county-1".into(),
            access_key_id: "fengqiao".into(),
            secret_access_key: Secret::new("not-a-real-secret"),
            timeout_secs: 2,
        }
    }

    #[tokio::test]
    async fn objects_are_put_signed_read_back_and_deleted() {
        let store = MockServer::start().await;
        let body = b"%PDF-1.7 attachment".to_vec();
        Mock::given(method("PUT"))
            .and(path("/petitions/2026/11/a%20b.pdf"))
            .and(header(
                "x-amz-content-sha256",
                hex::encode(Sha256::digest(&body)).as_str(),
            ))
            .and(header_regex(
                "authorization",
                r"^AWS4-HMAC-SHA256 Credential=fengqiao/\d{8}/cn-county-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$",
            ))
            .and(header_regex("x-amz-date", r"^\d{8}T\d{6}Z$"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&store)
            .await;
        Mock::given(method("GET"))
            .and(path("/petitions/2026/11/a%20b.pdf"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body.clone()))
            .mount(&store)
            .await;
        Mock::given(method("GET"))
            .and(path("/petitions/2026/11/gone.pdf"))
            .respond_with(
                ResponseTemplate::new(404).set_body_string(
                    "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>",
                ),
            )
            .mount(&store)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/petitions/2026/11/a%20b.pdf"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&store)
            .await;

        let s3 = S3Storage::new(&settings(&store.uri())).unwrap();
        s3.put("2026/11/a b.pdf", &body).await.unwrap();
        assert_eq!(s3.get("2026/11/a b.pdf").await.unwrap().unwrap(), body);
        assert!(s3.get("2026/11/gone.pdf").await.unwrap().is_none());
        s3.delete("2026/11/a b.pdf").await.unwrap();
        assert!(s3.put("../escape", b"x").await.is_err());
    }

    #[tokio::test]
    async fn a_refusal_or_an_unreachable_store_is_unavailable_with_the_cause() {
        let store = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(403).set_body_string(
                "<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>",
            ))
            .mount(&store)
            .await;
        let s3 = S3Storage::new(&settings(&store.uri())).unwrap();
        let refused = s3.put("k.pdf", b"x").await.unwrap_err().to_string();
        assert!(refused.contains("403"), "{refused}");
        assert!(refused.contains("SignatureDoesNotMatch"), "{refused}");

        // A port nothing listens on (wiremock keeps its servers pooled, so not a dropped one).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let down = S3Storage::new(&settings(&format!("http://127.0.0.1:{port}"))).unwrap();
        let err = down.get("k.pdf").await.unwrap_err().to_string();
        assert!(err.contains("could not connect"), "{err}");
    }

    #[test]
    fn a_bad_bucket_or_endpoint_is_refused_at_start() {
        let mut s = settings("http://127.0.0.1:9000");
        s.bucket = "Bad_Bucket".into();
        assert!(S3Storage::new(&s).is_err());
        assert!(S3Storage::new(&settings("ftp://store")).is_err());
    }
}
