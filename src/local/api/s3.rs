//! S3's REST protocol for the engine's S3, path-style (`/bucket/key`): what SDKs and the
//! AWS CLI send to an endpoint given as an address. S3 requests are told from the other
//! services' by their signature's credential scope (`…/s3/aws4_request`), as nothing else
//! about a `PUT /name` says which service it is for.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::query_protocol::{Xml, percent_decode_bytes};
use crate::local::EngineState;
use crate::local::s3::{Object, S3Error};
use crate::local::streams::ACCOUNT_ID;

/// Whether a request is signed for S3.
pub fn is_s3(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|auth| auth.contains("/s3/aws4_request"))
}

/// The region a request is signed for (`Credential=<key>/<date>/<region>/s3/…`): the
/// region of the S3 endpoint it was meant for.
fn signing_region(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    scope.split('/').nth(2).filter(|r| !r.is_empty())
}

/// What the engine cannot answer, or a request it cannot read, with S3's code for it.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl From<S3Error> for Refusal {
    fn from(err: S3Error) -> Refusal {
        if let S3Error::Storage(cause) = &err {
            tracing::error!(error = %cause, "S3 storage failure");
        }
        Refusal {
            status: StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: err.code(),
            message: err.to_string(),
        }
    }
}

fn not_implemented(what: &str) -> Refusal {
    Refusal {
        status: StatusCode::NOT_IMPLEMENTED,
        code: "NotImplemented",
        message: format!(
            "A header or query you provided implies functionality that is not implemented ({what}: the local engine's S3 stores and reads single objects only)."
        ),
    }
}

pub async fn respond(
    state: &EngineState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
) -> Response {
    let answered = answer(state, method, uri, headers, body).await;
    let mut response = match answered {
        Ok(response) => response,
        Err(refusal) => {
            let body = if *method == Method::HEAD {
                // HEAD answers carry no body, errors included; the status says it all.
                Body::empty()
            } else {
                let mut xml = Xml(r#"<?xml version="1.0" encoding="UTF-8"?>"#.into());
                xml.open("Error")
                    .text("Code", refusal.code)
                    .text("Message", &refusal.message)
                    .text("Resource", uri.path())
                    .text("RequestId", request_id)
                    .close("Error");
                Body::from(xml.0)
            };
            Response::builder()
                .status(refusal.status)
                .header("content-type", "application/xml")
                .body(body)
                .expect("static headers are valid")
        }
    };
    if let Ok(id) = request_id.parse() {
        response.headers_mut().insert("x-amz-request-id", id);
    }
    response
}

async fn answer(
    state: &EngineState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    // SDKs name the operation in `x-id`; any other query names a subresource (`?acl`,
    // `?uploads`, `?list-type=2`, …) the engine does not keep.
    if let Some(other) = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .find(|name| !name.is_empty() && *name != "x-id")
    {
        return Err(not_implemented(&format!("?{other}")));
    }
    let s3 = &state.s3;
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    if bucket.is_empty() {
        return Err(not_implemented("ListBuckets"));
    }
    let (bucket, key) = (decoded(bucket)?, decoded(key)?);
    // Every bucket here is the engine account's: a request that expects another owner is
    // refused, as S3 refuses it.
    if let Some(owner) = headers.get("x-amz-expected-bucket-owner")
        && owner.as_bytes() != ACCOUNT_ID.as_bytes()
    {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            code: "AccessDenied",
            message: "Access Denied".into(),
        });
    }
    if key.is_empty() {
        return match *method {
            Method::PUT => {
                let location = location_constraint(&body);
                s3.create_bucket(&bucket, location.as_deref(), signing_region(headers))
                    .await?;
                Ok(empty(StatusCode::OK).header("location", format!("/{bucket}")))
            }
            Method::HEAD => {
                let region = s3.head_bucket(&bucket).await?;
                Ok(empty(StatusCode::OK).header("x-amz-bucket-region", region))
            }
            Method::DELETE => {
                s3.delete_bucket(&bucket).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            _ => Err(not_implemented(&format!("{method} on a bucket"))),
        }
        .map(|builder| builder.body(Body::empty()).expect("valid headers"));
    }
    match *method {
        Method::PUT => {
            if headers.contains_key("x-amz-copy-source") {
                return Err(not_implemented("CopyObject"));
            }
            let content = payload(headers, body)?;
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
            let etag = s3.put_object(&bucket, &key, content, content_type).await?;
            Ok(empty(StatusCode::OK)
                .header("etag", format!("\"{etag}\""))
                .body(Body::empty())
                .expect("valid headers"))
        }
        Method::GET => {
            let object = s3.get_object(&bucket, &key).await?;
            let range = headers.get("range").and_then(|v| v.to_str().ok());
            let Some(range) = range else {
                return Ok(described(&object)
                    .body(Body::from(object.body))
                    .expect("valid headers"));
            };
            let total = object.body.len();
            let (first, last) = byte_range(range, total)?;
            Ok(described(&object)
                .status(StatusCode::PARTIAL_CONTENT)
                .header("content-range", format!("bytes {first}-{last}/{total}"))
                .body(Body::from(object.body[first..=last].to_vec()))
                .expect("valid headers"))
        }
        Method::HEAD => {
            let object = s3.get_object(&bucket, &key).await?;
            Ok(described(&object)
                .header("content-length", object.body.len())
                .body(Body::empty())
                .expect("valid headers"))
        }
        Method::DELETE => {
            s3.delete_object(&bucket, &key).await?;
            Ok(empty(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .expect("valid headers"))
        }
        _ => Err(not_implemented(&format!("{method} on an object"))),
    }
}

/// A bucket name or key from the path: S3 names are UTF-8.
fn decoded(text: &str) -> Result<String, Refusal> {
    String::from_utf8(percent_decode_bytes(text, false)).map_err(|_| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidURI",
        message: "Couldn't parse the specified URI.".into(),
    })
}

/// The first and last byte (inclusive) of the one range `Range: bytes=…` asks for in an
/// object of `total` bytes: `first-last`, `first-` or `-suffix`, as S3 serves them.
fn byte_range(header: &str, total: usize) -> Result<(usize, usize), Refusal> {
    let unsatisfiable = || Refusal {
        status: StatusCode::RANGE_NOT_SATISFIABLE,
        code: "InvalidRange",
        message: "The requested range is not satisfiable".into(),
    };
    let spec = header
        .strip_prefix("bytes=")
        .ok_or_else(|| not_implemented("a Range not in bytes"))?;
    if spec.contains(',') {
        return Err(not_implemented("several ranges in one GET"));
    }
    let (first, last) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let number = |text: &str| text.trim().parse::<usize>().map_err(|_| unsatisfiable());
    let (first, last) = match (first.trim(), last.trim()) {
        ("", suffix) => (total.saturating_sub(number(suffix)?), total.wrapping_sub(1)),
        (first, "") => (number(first)?, total.wrapping_sub(1)),
        (first, last) => (number(first)?, number(last)?.min(total.wrapping_sub(1))),
    };
    if total == 0 || first >= total || first > last {
        return Err(unsatisfiable());
    }
    Ok((first, last))
}

fn empty(status: StatusCode) -> axum::http::response::Builder {
    Response::builder().status(status)
}

/// The headers GetObject and HeadObject describe an object with.
fn described(object: &Object) -> axum::http::response::Builder {
    empty(StatusCode::OK)
        .header("content-type", &object.content_type)
        .header("etag", format!("\"{}\"", object.etag))
        .header("last-modified", http_date(object.modified_ms))
        .header("accept-ranges", "bytes")
}

/// An HTTP date (`Tue, 01 Dec 2026 05:40:00 GMT`), as `Last-Modified` carries it.
fn http_date(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// CreateBucket's `<LocationConstraint>`, if the body names one.
fn location_constraint(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<LocationConstraint>")? + "<LocationConstraint>".len();
    let end = start + text[start..].find("</LocationConstraint>")?;
    Some(text[start..end].trim().to_owned())
}

/// The object's bytes: as sent, or taken out of the `aws-chunked` framing that SDKs use to
/// send a checksum after the body.
fn payload(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let chunked = header("x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"))
        || header("content-encoding").is_some_and(|v| v.contains("aws-chunked"));
    if !chunked {
        return Ok(body.to_vec());
    }
    unchunk(&body).ok_or_else(|| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "IncompleteBody",
        message: "The request body is not well-formed aws-chunked content.".into(),
    })
}

/// `aws-chunked`: chunks of `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`, ended by a
/// chunk of size 0 and optional trailers (a checksum), which are not kept.
fn unchunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let header = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size_hex = header.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_bodies_are_unframed_and_broken_ones_refused() {
        let framed = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert_eq!(unchunk(framed).unwrap(), b"hello world");
        assert_eq!(unchunk(b"0\r\n\r\n").unwrap(), b"");
        assert_eq!(unchunk(b"5\r\nhel"), None);
        assert_eq!(unchunk(b"zz\r\nhello\r\n0\r\n"), None);
    }

    #[test]
    fn the_location_constraint_is_read_from_the_create_bucket_body() {
        let body = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
        assert_eq!(location_constraint(body).as_deref(), Some("eu-west-1"));
        assert_eq!(location_constraint(b""), None);
    }

    #[test]
    fn ranges_are_served_as_s3_serves_one() {
        let range = |header: &str, total: usize| byte_range(header, total).map_err(|r| r.code);
        assert_eq!(range("bytes=0-9", 100), Ok((0, 9)));
        assert_eq!(range("bytes=90-200", 100), Ok((90, 99)));
        assert_eq!(range("bytes=95-", 100), Ok((95, 99)));
        assert_eq!(range("bytes=-10", 100), Ok((90, 99)));
        assert_eq!(range("bytes=-500", 100), Ok((0, 99)));
        assert_eq!(range("bytes=100-", 100), Err("InvalidRange"));
        assert_eq!(range("bytes=5-2", 100), Err("InvalidRange"));
        assert_eq!(range("bytes=0-0", 0), Err("InvalidRange"));
        assert_eq!(range("bytes=0-1,5-6", 100), Err("NotImplemented"));
    }

    #[test]
    fn last_modified_is_an_http_date() {
        assert_eq!(
            http_date(1_764_567_600_000),
            "Mon, 01 Dec 2025 05:40:00 GMT"
        );
    }
}
