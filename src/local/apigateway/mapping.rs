//! The mapping-template subset the renderer emits (API Gateway's Velocity templates):
//! `$context.*`, `$input.body`, `$input.path('…')`, `$input.json('…')` and
//! `$util.escapeJavaScript(…)`, with the JSONPath forms `$`, `$.a.b`, `$.a[0]`,
//! `$['a']`. Directives (`#set`, `#if`, `#foreach`) are refused when the method is
//! deployed, so a template the engine cannot honour never silently misbehaves.

use serde_json::Value;

/// The request a template is rendered for.
#[derive(Debug, Clone)]
pub struct MappingContext {
    pub body: String,
    pub request_id: String,
    pub request_time_epoch_ms: i64,
    pub stage: String,
    pub api_id: String,
    pub http_method: String,
    pub resource_path: String,
    pub source_ip: String,
    /// Why API Gateway refused the request, for a gateway response's template.
    pub error: RefusalContext,
}

/// `$context.error.*`: set only when API Gateway answers a request itself.
#[derive(Debug, Clone, Default)]
pub struct RefusalContext {
    pub message: String,
    pub response_type: String,
    /// Every problem the body's model found, as `[first, second]`, JSON-escaped so that a
    /// template can put it between quotes.
    pub validation_error_string: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("mapping template: {0}")]
pub struct MappingError(pub String);

const DIRECTIVES: [&str; 7] = [
    "#set", "#if", "#elseif", "#else", "#foreach", "#end", "#macro",
];

/// Refuse templates that use what the engine does not evaluate.
pub fn check(template: &str) -> Result<(), MappingError> {
    if let Some(directive) = DIRECTIVES.iter().find(|d| template.contains(*d)) {
        return Err(MappingError(format!(
            "the local engine does not evaluate Velocity directives such as `{directive}`; it supports $context.*, $input.body, $input.path, $input.json and $util.escapeJavaScript"
        )));
    }
    let context = MappingContext {
        body: "{}".into(),
        request_id: "check".into(),
        request_time_epoch_ms: 0,
        stage: "check".into(),
        api_id: "check".into(),
        http_method: "POST".into(),
        resource_path: "/".into(),
        source_ip: "127.0.0.1".into(),
        error: RefusalContext::default(),
    };
    render(template, &context).map(|_| ())
}

/// Render `template` for one request.
pub fn render(template: &str, context: &MappingContext) -> Result<String, MappingError> {
    let body: Option<Value> = serde_json::from_str(&context.body).ok();
    let mut parser = Parser {
        chars: template.chars().collect(),
        at: 0,
        context,
        body: &body,
    };
    let mut out = String::new();
    while parser.at < parser.chars.len() {
        let c = parser.chars[parser.at];
        if c == '$' && parser.starts_reference(parser.at + 1) {
            let start = parser.at;
            parser.at += 1;
            match parser.reference()? {
                Some(text) => out.push_str(&text),
                // Velocity renders an unknown reference as written.
                None => out.extend(&parser.chars[start..parser.at]),
            }
        } else {
            out.push(c);
            parser.at += 1;
        }
    }
    Ok(out)
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    context: &'a MappingContext,
    body: &'a Option<Value>,
}

impl Parser<'_> {
    fn starts_reference(&self, at: usize) -> bool {
        match self.chars.get(at) {
            Some('!') => self.starts_reference(at + 1),
            Some('{') => true,
            Some(c) => c.is_ascii_alphabetic(),
            None => false,
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    /// After `$`: a reference such as `context.requestId` or `input.path('$.a')`.
    fn reference(&mut self) -> Result<Option<String>, MappingError> {
        if self.chars.get(self.at) == Some(&'!') {
            self.at += 1;
        }
        let braced = self.chars.get(self.at) == Some(&'{');
        if braced {
            self.at += 1;
        }
        let mut names = vec![self.identifier()];
        while self.chars.get(self.at) == Some(&'.')
            && self
                .chars
                .get(self.at + 1)
                .is_some_and(|c| c.is_ascii_alphabetic())
        {
            self.at += 1;
            names.push(self.identifier());
        }
        let args = if self.chars.get(self.at) == Some(&'(') {
            self.at += 1;
            Some(self.arguments()?)
        } else {
            None
        };
        if braced {
            if self.chars.get(self.at) != Some(&'}') {
                return Err(MappingError("unclosed `${`".into()));
            }
            self.at += 1;
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.evaluate(&names, args)
    }

    fn arguments(&mut self) -> Result<Vec<String>, MappingError> {
        let mut args = Vec::new();
        loop {
            while self
                .chars
                .get(self.at)
                .is_some_and(|c| c.is_whitespace() || *c == ',')
            {
                self.at += 1;
            }
            match self.chars.get(self.at) {
                Some(')') => {
                    self.at += 1;
                    return Ok(args);
                }
                Some(quote @ ('\'' | '"')) => {
                    let quote = *quote;
                    self.at += 1;
                    let start = self.at;
                    while self.chars.get(self.at).is_some_and(|c| *c != quote) {
                        self.at += 1;
                    }
                    args.push(self.chars[start..self.at].iter().collect());
                    self.at += 1;
                }
                Some('$') => {
                    self.at += 1;
                    let value = self.reference()?.unwrap_or_default();
                    args.push(value);
                }
                _ => return Err(MappingError("unsupported argument in a method call".into())),
            }
        }
    }

    fn evaluate(
        &self,
        names: &[&str],
        args: Option<Vec<String>>,
    ) -> Result<Option<String>, MappingError> {
        let context = self.context;
        let one = |args: &Option<Vec<String>>| -> Result<String, MappingError> {
            match args.as_deref() {
                Some([arg]) => Ok(arg.clone()),
                _ => Err(MappingError(format!(
                    "${} takes one argument",
                    names.join(".")
                ))),
            }
        };
        Ok(Some(match (names, &args) {
            (["context", rest @ ..], None) => match rest.join(".").as_str() {
                "requestId" | "extendedRequestId" => context.request_id.clone(),
                "requestTimeEpoch" => context.request_time_epoch_ms.to_string(),
                "requestTime" => request_time(context.request_time_epoch_ms),
                "stage" => context.stage.clone(),
                "apiId" => context.api_id.clone(),
                "httpMethod" => context.http_method.clone(),
                "resourcePath" | "path" => context.resource_path.clone(),
                "identity.sourceIp" => context.source_ip.clone(),
                "accountId" => crate::local::streams::ACCOUNT_ID.to_owned(),
                "error.message" => context.error.message.clone(),
                "error.messageString" => Value::from(context.error.message.as_str()).to_string(),
                "error.responseType" => context.error.response_type.clone(),
                "error.validationErrorString" => context.error.validation_error_string.clone(),
                _ => String::new(),
            },
            (["input", "body"], None) => context.body.clone(),
            (["input", "path"], Some(_)) => match json_path(self.body, &one(&args)?)? {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => String::new(),
            },
            (["input", "json"], Some(_)) => json_path(self.body, &one(&args)?)?
                .map(|v| v.to_string())
                .unwrap_or_else(|| "null".into()),
            (["util", "escapeJavaScript"], Some(_)) => escape_javascript(&one(&args)?),
            (["util", other], _) | (["input", other], _) => {
                return Err(MappingError(format!(
                    "`{}.{other}` is not supported by the local engine",
                    names[0]
                )));
            }
            _ => return Ok(None),
        }))
    }
}

/// `$util.escapeJavaScript`: JavaScript string escaping, single quotes included (as AWS
/// does, although `\'` is not valid JSON).
fn escape_javascript(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `dd/MMM/yyyy:HH:mm:ss +0000`, as `$context.requestTime` gives it.
fn request_time(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The JSONPath subset: `$`, `.name`, `[n]`, `['name']`.
fn json_path(body: &Option<Value>, path: &str) -> Result<Option<Value>, MappingError> {
    let rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| MappingError(format!("JSONPath `{path}` must start with `$`")))?;
    let Some(mut current) = body.as_ref() else {
        return Ok(None);
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let (key, index) = match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                (Some(chars[start..i].iter().collect::<String>()), None)
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .map(|p| p + i)
                    .ok_or_else(|| {
                        MappingError(format!("JSONPath `{path}` has an unclosed `[`"))
                    })?;
                let inner: String = chars[i + 1..end].iter().collect();
                i = end + 1;
                let quoted = inner.trim_matches(|c| c == '\'' || c == '"');
                if quoted.len() != inner.len() {
                    (Some(quoted.to_owned()), None)
                } else {
                    let index = inner.parse::<usize>().map_err(|_| {
                        MappingError(format!("JSONPath `{path}`: `[{inner}]` is not supported"))
                    })?;
                    (None, Some(index))
                }
            }
            _ => return Err(MappingError(format!("JSONPath `{path}` is not supported"))),
        };
        let next = match (key, index) {
            (Some(key), _) => current.get(&key),
            (None, Some(index)) => current.get(index),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return Ok(None),
        }
    }
    Ok(Some(current.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(body: &str) -> MappingContext {
        MappingContext {
            body: body.into(),
            request_id: "req-1".into(),
            request_time_epoch_ms: 1_700_000_000_123,
            stage: "v1".into(),
            api_id: "abc".into(),
            http_method: "POST".into(),
            resource_path: "/orders".into(),
            source_ip: "127.0.0.1".into(),
            error: RefusalContext::default(),
        }
    }

    #[test]
    fn the_renderers_put_item_template_renders() {
        let template = r#"{"pk": {"S": "ORDER#$context.requestId"}, "at": {"N": "$context.requestTimeEpoch"}, "status": {"S": "$util.escapeJavaScript($input.path('$.status'))"}, "total": {"N": "$input.path('$.total')"}, "items": $input.json('$.items'), "first": "$input.path('$.items[0].sku')"}"#;
        let rendered = render(
            template,
            &context(r#"{"status": "New \"hot\"", "total": 12.5, "items": [{"sku": "a"}]}"#),
        )
        .unwrap();
        assert_eq!(
            rendered,
            r#"{"pk": {"S": "ORDER#req-1"}, "at": {"N": "1700000000123"}, "status": {"S": "New \"hot\""}, "total": {"N": "12.5"}, "items": [{"sku":"a"}], "first": "a"}"#
        );
    }

    #[test]
    fn unknown_references_stay_and_directives_are_refused() {
        assert_eq!(
            render("cost: $5 and $unknown.x", &context("{}")).unwrap(),
            "cost: $5 and $unknown.x"
        );
        assert_eq!(
            render("${context.stage}/$!context.nothing", &context("{}")).unwrap(),
            "v1/"
        );
        assert!(
            check("#set($a = 1)")
                .unwrap_err()
                .to_string()
                .contains("#set")
        );
        assert!(check("$util.urlEncode('a')").is_err());
        assert!(check("$input.path('$.a')").is_ok());
    }
}
