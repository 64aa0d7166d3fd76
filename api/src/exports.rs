//! Tables as CSV or XLSX, charts as SVG. Small tables are written whole; drill-downs stream page
//! by page, so an export of years of petitions never sits whole in memory.

use std::future::Future;

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use bytes::Bytes;
use fengqiao_infra::reports::{CSV_BOM, Cell, XlsxStream, csv_header, csv_line};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// How a table is wanted: JSON (the default), CSV (UTF-8 with BOM, for Excel) or XLSX.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Json,
    Csv,
    Xlsx,
}

/// The same, with SVG for the charts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChartFormat {
    #[default]
    Json,
    Csv,
    Xlsx,
    Svg,
}

impl ChartFormat {
    pub fn table(self) -> ExportFormat {
        match self {
            ChartFormat::Csv => ExportFormat::Csv,
            ChartFormat::Xlsx => ExportFormat::Xlsx,
            ChartFormat::Json | ChartFormat::Svg => ExportFormat::Json,
        }
    }
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn attachment(file: &str, ext: &str) -> ContentDisposition {
    let name = format!("{file}.{ext}");
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            // An ASCII fallback, then the UTF-8 name (RFC 6266) for Chinese file names.
            DispositionParam::Filename(format!("export.{ext}")),
            DispositionParam::FilenameExt(header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    }
}

/// A whole table as CSV or XLSX (`format` is not JSON).
pub fn table(
    format: ExportFormat,
    file: &str,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> Result<HttpResponse, ApiError> {
    match format {
        ExportFormat::Csv | ExportFormat::Json => {
            let mut out = String::from(CSV_BOM);
            out.push_str(&csv_header(header));
            for row in rows {
                out.push_str(&csv_line(row));
            }
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(attachment(file, "csv"))
                .body(out))
        }
        ExportFormat::Xlsx => {
            let mut book = XlsxStream::new(file, header).map_err(ApiError::internal)?;
            let mut out = Vec::new();
            for row in rows {
                book.row(row).map_err(ApiError::internal)?;
                out.extend(book.take());
            }
            out.extend(book.finish().map_err(ApiError::internal)?);
            Ok(HttpResponse::Ok()
                .content_type(XLSX)
                .insert_header(attachment(file, "xlsx"))
                .body(out))
        }
    }
}

pub fn svg(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .body(body)
}

fn stopped() -> actix_web::Error {
    actix_web::error::ErrorServiceUnavailable("export stopped")
}

/// Streams a table fetched page by page: `fetch(after)` gives rows and the key to continue
/// after, `None` at the end. Pages are fetched only as fast as the client reads (a channel of
/// two chunks between them). A failure half-way ends the body early, since the status is
/// already sent; it is logged.
pub fn stream<K, F, Fut>(
    format: ExportFormat,
    file: &str,
    header: &'static [&'static str],
    mut fetch: F,
) -> Result<HttpResponse, ApiError>
where
    K: 'static,
    F: FnMut(Option<K>) -> Fut + 'static,
    Fut: Future<Output = Result<(Vec<Vec<Cell>>, Option<K>), ApiError>> + 'static,
{
    let mut book = match format {
        ExportFormat::Xlsx => Some(XlsxStream::new(file, header).map_err(ApiError::internal)?),
        _ => None,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, actix_web::Error>>(2);
    let name = file.to_owned();
    actix_web::rt::spawn(async move {
        let first = match &mut book {
            Some(book) => book.take(),
            None => format!("{CSV_BOM}{}", csv_header(header)).into_bytes(),
        };
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let mut after = None;
        loop {
            let (rows, next) = match fetch(after).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(export = %name, error = ?e, "export stopped half-way");
                    // An error item aborts the response: the client sees a broken transfer,
                    // never a file that looks complete.
                    let _ = tx.send(Err(stopped())).await;
                    return;
                }
            };
            let mut chunk = Vec::new();
            for row in &rows {
                match &mut book {
                    Some(book) => {
                        if let Err(e) = book.row(row) {
                            tracing::error!(export = %name, error = %e, "export stopped half-way");
                            let _ = tx.send(Err(stopped())).await;
                            return;
                        }
                        chunk.extend(book.take());
                    }
                    None => chunk.extend(csv_line(row).into_bytes()),
                }
            }
            if !chunk.is_empty() && tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                // The client went away.
                return;
            }
            match next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        if let Some(book) = book {
            match book.finish() {
                Ok(rest) => {
                    let _ = tx.send(Ok(Bytes::from(rest))).await;
                }
                Err(e) => {
                    tracing::error!(export = %name, error = %e, "export stopped half-way");
                    let _ = tx.send(Err(stopped())).await;
                }
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let (content_type, ext) = match format {
        ExportFormat::Xlsx => (XLSX, "xlsx"),
        _ => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(attachment(file, ext))
        .streaming(body))
}
