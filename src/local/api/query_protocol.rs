//! The AWS query protocol (CloudFormation's wire format): form-encoded requests with
//! `Action=…&Version=…`, XML answers wrapped in `<ActionResponse><ActionResult>` with the
//! request id, and `<ErrorResponse>` errors. One reader and one writer for every query
//! service, as `json_protocol` is for the JSON ones.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

/// A decoded form body.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        let text = String::from_utf8_lossy(body);
        Form(
            text.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key, true), percent_decode(value, true))
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    /// `Key.member.1`, `Key.member.2`, … in order.
    pub fn list(&self, key: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.owned(&format!("{key}.member.{i}")))
            .collect()
    }

    /// `Key.member.N.Field` structures, as maps of their fields.
    pub fn structures(&self, key: &str) -> Vec<HashMap<String, String>> {
        let mut out = Vec::new();
        for i in 1.. {
            let prefix = format!("{key}.member.{i}.");
            let fields: HashMap<String, String> = self
                .0
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f.to_owned(), v.clone())))
                .collect();
            if fields.is_empty() {
                break;
            }
            out.push(fields);
        }
        out
    }
}

/// `%XX` escapes decoded; `+` is a space in form values (`plus_is_space`), itself in paths.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text, plus_is_space)).into_owned()
}

/// The bytes `%XX` escapes stand for, for callers that refuse what is not UTF-8.
pub fn percent_decode_bytes(text: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((high, low))) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', None) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Builds the XML of a response.
#[derive(Default)]
pub struct Xml(pub String);

impl Xml {
    pub fn open(&mut self, tag: &str) -> &mut Xml {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Xml {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn text(&mut self, tag: &str, value: impl AsRef<str>) -> &mut Xml {
        self.open(tag);
        escape_into(&mut self.0, value.as_ref());
        self.close(tag)
    }

    pub fn opt(&mut self, tag: &str, value: Option<impl AsRef<str>>) -> &mut Xml {
        if let Some(value) = value {
            self.text(tag, value);
        }
        self
    }

    pub fn time(&mut self, tag: &str, ms: i64) -> &mut Xml {
        self.text(tag, timestamp(ms))
    }

    pub fn members<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Xml, T),
    ) -> &mut Xml {
        self.open(tag);
        for item in items {
            self.open("member");
            each(self, item);
            self.close("member");
        }
        self.close(tag)
    }
}

pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn timestamp(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// One page of `items` after the opaque `token`, and the token of the next page when more
/// remain; `None` for a token this engine did not hand out.
pub fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    size: usize,
) -> Option<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(token) => token.parse::<usize>().ok().filter(|s| *s <= items.len())?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Some((items[start..end].to_vec(), next))
}

/// A successful answer: `<{action}Response xmlns=…><{action}Result>{result}</…>` and the
/// request id.
pub fn ok_response(namespace: &str, action: &str, result: &str, request_id: &str) -> Response {
    let mut xml = Xml::default();
    xml.0
        .push_str(&format!("<{action}Response xmlns=\"{namespace}\">"));
    if result.is_empty() {
        xml.0.push_str(&format!("<{action}Result/>"));
    } else {
        xml.0
            .push_str(&format!("<{action}Result>{result}</{action}Result>"));
    }
    xml.open("ResponseMetadata")
        .text("RequestId", request_id)
        .close("ResponseMetadata");
    xml.close(&format!("{action}Response"));
    respond(StatusCode::OK, request_id, xml.0)
}

/// An error: status 400 with `Type` `Sender`, or 500 with `Receiver` for server faults.
pub fn error_response(
    namespace: &str,
    code: &str,
    message: &str,
    server_fault: bool,
    request_id: &str,
) -> Response {
    let (status, fault) = if server_fault {
        (StatusCode::INTERNAL_SERVER_ERROR, "Receiver")
    } else {
        (StatusCode::BAD_REQUEST, "Sender")
    };
    let mut xml = Xml::default();
    xml.0
        .push_str(&format!("<ErrorResponse xmlns=\"{namespace}\">"));
    xml.open("Error")
        .text("Type", fault)
        .text("Code", code)
        .text("Message", message)
        .close("Error")
        .text("RequestId", request_id)
        .close("ErrorResponse");
    respond(status, request_id, xml.0)
}

fn respond(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_as_the_sdk_encodes_them() {
        let form = Form::parse(b"Action=CreateStack&TemplateBody=%7B%22a%22%3A+1%7D&Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod&Capabilities.member.1=CAPABILITY_IAM&Bad=%zz");
        assert_eq!(form.get("TemplateBody"), Some("{\"a\": 1}"));
        assert_eq!(form.list("Capabilities"), vec!["CAPABILITY_IAM"]);
        assert_eq!(form.structures("Parameters")[0]["ParameterValue"], "prod");
        assert_eq!(form.get("Bad"), Some("%zz"));
    }

    #[test]
    fn pages_carry_a_token_until_the_end() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&items, None, 2).unwrap();
        assert_eq!((first, next.as_deref()), (vec![0, 1], Some("2")));
        let (last, next) = page(&items, Some("4"), 2).unwrap();
        assert_eq!((last, next), (vec![4], None));
        assert!(page(&items, Some("nope"), 2).is_none());
    }
}
