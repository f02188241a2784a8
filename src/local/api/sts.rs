//! STS's GetCallerIdentity (query protocol), so a client can learn which account it acts
//! in, as deploy does to pin the owner of the bucket it uploads templates to. The engine
//! checks no credentials: every caller is the engine account's root.

use axum::response::Response;

use super::query_protocol::{Form, Xml, error_response, ok_response};
use crate::local::streams::ACCOUNT_ID;

const VERSION: &str = "2011-06-15";
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub fn is_sts(form: &Form) -> bool {
    form.get("Version") == Some(VERSION)
}

pub fn handle(form: &Form, request_id: &str) -> Response {
    match form.get("Action").unwrap_or_default() {
        "GetCallerIdentity" => {
            let mut xml = Xml::default();
            xml.text("Arn", format!("arn:aws:iam::{ACCOUNT_ID}:root"))
                .text("UserId", ACCOUNT_ID)
                .text("Account", ACCOUNT_ID);
            ok_response(NAMESPACE, "GetCallerIdentity", &xml.0, request_id)
        }
        other => error_response(
            NAMESPACE,
            "InvalidAction",
            &format!(
                "The action {other} is not valid for this endpoint (the local engine's STS answers GetCallerIdentity only)."
            ),
            false,
            request_id,
        ),
    }
}
