//! Withdrawing an operation from `v1`, as the versioning policy promises: the operation is
//! listed in [`DEPRECATED`], which both marks it `deprecated` in the OpenAPI document and makes
//! every answer it gives carry `Deprecation` (RFC 9745), `Sunset` (RFC 8594, at least six months
//! ahead) and a `Link` to its successor. One list, so the document and the server cannot
//! disagree.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use chrono::{NaiveDate, NaiveTime};
use std::future::Future;
use std::pin::Pin;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::path::PathItem;

/// One operation on its way out.
pub struct Deprecated {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The route as the document writes it, such as `/api/v1/petitions/{id}`.
    pub path: &'static str,
    /// The day it was deprecated.
    pub since: NaiveDate,
    /// The day it stops answering.
    pub sunset: NaiveDate,
    /// The operation to use instead (its path).
    pub successor: &'static str,
}

/// The operations being withdrawn. None yet: `v1` has only grown.
pub const DEPRECATED: &[Deprecated] = &[];

/// The headers announcing `d`.
fn headers_of(d: &Deprecated) -> [(HeaderName, String); 3] {
    let midnight = |day: NaiveDate| day.and_time(NaiveTime::MIN).and_utc();
    [
        // A structured-field date: `@` and seconds since the epoch.
        (
            HeaderName::from_static("deprecation"),
            format!("@{}", midnight(d.since).timestamp()),
        ),
        (
            HeaderName::from_static("sunset"),
            midnight(d.sunset)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ),
        (
            actix_web::http::header::LINK,
            format!("<{}>; rel=\"successor-version\"", d.successor),
        ),
    ]
}

type Announce<B> =
    Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + 'static>>;

/// Middleware: answers of a listed operation carry its announcement, errors included.
pub fn announce<B: MessageBody + 'static>(
    list: &'static [Deprecated],
) -> impl Fn(ServiceRequest, Next<B>) -> Announce<B> + Clone {
    move |req, next| {
        Box::pin(async move {
            let mut res = next.call(req).await?;
            let method = res.request().method().as_str().to_owned();
            let pattern = res.request().match_pattern();
            if let Some(d) = list.iter().find(|d| {
                d.method.eq_ignore_ascii_case(&method) && pattern.as_deref() == Some(d.path)
            }) {
                for (name, value) in headers_of(d) {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        res.headers_mut().insert(name, value);
                    }
                }
            }
            Ok(res)
        })
    }
}

/// Marks the listed operations `deprecated` in the document, with their sunset and successor
/// in the description.
pub fn mark(doc: &mut OpenApiDoc, list: &[Deprecated]) {
    for d in list {
        let Some(item) = doc.paths.paths.get_mut(d.path) else {
            continue;
        };
        if let Some(op) = operation_mut(item, d.method) {
            op.deprecated = Some(utoipa::openapi::Deprecated::True);
            let note = format!(
                "**Deprecated** since {}; stops answering on {}. Use `{}`.",
                d.since, d.sunset, d.successor
            );
            op.description = Some(match op.description.take() {
                Some(text) if !text.is_empty() => format!("{note}\n\n{text}"),
                _ => note,
            });
        }
    }
}

fn operation_mut<'a>(
    item: &'a mut PathItem,
    method: &str,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    match method.to_ascii_uppercase().as_str() {
        "GET" => item.get.as_mut(),
        "POST" => item.post.as_mut(),
        "PUT" => item.put.as_mut(),
        "PATCH" => item.patch.as_mut(),
        "DELETE" => item.delete.as_mut(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::test as served;
    use actix_web::{App, HttpResponse, web};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    static LIST: std::sync::LazyLock<Vec<Deprecated>> = std::sync::LazyLock::new(|| {
        vec![Deprecated {
            method: "GET",
            path: "/api/v1/things/{id}",
            since: day(2026, 12, 1),
            sunset: day(2027, 6, 1),
            successor: "/api/v2/things/{id}",
        }]
    });

    #[actix_web::test]
    async fn a_listed_operation_announces_its_end_and_no_other_does() {
        let list: &'static [Deprecated] = LIST.as_slice();
        let app = served::init_service(
            App::new()
                .wrap(from_fn(announce(list)))
                .route(
                    "/api/v1/things/{id}",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/api/v1/things/{id}",
                    web::post().to(|| async { HttpResponse::NotFound().finish() }),
                )
                .route(
                    "/api/v1/others",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let res = served::call_service(
            &app,
            served::TestRequest::get()
                .uri("/api/v1/things/7")
                .to_request(),
        )
        .await;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("deprecation"), "@1796083200");
        assert_eq!(header("sunset"), "Tue, 01 Jun 2027 00:00:00 GMT");
        assert_eq!(
            header("link"),
            "</api/v2/things/{id}>; rel=\"successor-version\""
        );
        for req in [
            served::TestRequest::post().uri("/api/v1/things/7"),
            served::TestRequest::get().uri("/api/v1/others"),
        ] {
            let res = served::call_service(&app, req.to_request()).await;
            assert!(res.headers().get("deprecation").is_none());
        }
    }

    #[test]
    fn the_document_marks_the_listed_operation_with_its_sunset() {
        let mut doc = crate::openapi::document();
        let list = [Deprecated {
            method: "GET",
            path: "/api/v1/petitions/{id}",
            since: day(2026, 12, 1),
            sunset: day(2027, 6, 1),
            successor: "/api/v2/petitions/{id}",
        }];
        mark(&mut doc, &list);
        let op = doc.paths.paths["/api/v1/petitions/{id}"]
            .get
            .as_ref()
            .unwrap();
        assert!(matches!(
            op.deprecated,
            Some(utoipa::openapi::Deprecated::True)
        ));
        assert!(op.description.as_deref().unwrap().contains("2027-06-01"));
        let other = doc.paths.paths["/api/v1/petitions"].post.as_ref().unwrap();
        assert!(!matches!(
            other.deprecated,
            Some(utoipa::openapi::Deprecated::True)
        ));
    }
}
