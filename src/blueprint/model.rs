//! The validated blueprint: every default filled in, every limit checked. Renderers and
//! commands read this and never the YAML.

use std::collections::BTreeMap;

use super::yaml::Span;

/// A value with the place in the blueprint it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Blueprint {
    /// The CloudFormation stack name, also the prefix of every physical name.
    pub name: String,
    /// Where the stack name is written: derived names that grow too long point here.
    pub name_span: Span,
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub table: Table,
    pub pipe: Pipe,
    pub bus: Bus,
    /// In declaration order.
    pub queues: Vec<Queue>,
    /// In declaration order.
    pub rules: Vec<Rule>,
    pub api: Option<Api>,
    /// Whether to render the tail queue, its tap targets and the catch-all rule.
    pub tail: bool,
}

impl Blueprint {
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub partition_key: Key,
    pub sort_key: Option<Key>,
    pub billing: Billing,
    pub stream_view: StreamView,
    pub point_in_time_recovery: bool,
    pub deletion_protection: bool,
    pub retain_on_delete: bool,
    pub encryption: Encryption,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub kind: KeyType,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    OnDemand,
    Provisioned { read: u32, write: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

impl StreamView {
    pub const ALL: [(&'static str, StreamView); 4] = [
        ("KEYS_ONLY", StreamView::KeysOnly),
        ("NEW_IMAGE", StreamView::NewImage),
        ("OLD_IMAGE", StreamView::OldImage),
        ("NEW_AND_OLD_IMAGES", StreamView::NewAndOldImages),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(s, _)| s)
    }

    pub fn has_new_image(self) -> bool {
        matches!(self, StreamView::NewImage | StreamView::NewAndOldImages)
    }

    pub fn has_old_image(self) -> bool {
        matches!(self, StreamView::OldImage | StreamView::NewAndOldImages)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// DynamoDB's default: a key owned by AWS, no KMS charges, no key policy to manage.
    AwsOwned,
    /// The `aws/dynamodb` KMS key in the account: key use is logged in CloudTrail.
    AwsManaged,
    /// A customer managed KMS key; the pipe role gets `kms:Decrypt` on it.
    CustomerManaged { kms_key_arn: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

impl StartingPosition {
    pub fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Off,
    Error,
    Info,
    Trace,
}

impl LogLevel {
    pub const ALL: [(&'static str, LogLevel); 4] = [
        ("OFF", LogLevel::Off),
        ("ERROR", LogLevel::Error),
        ("INFO", LogLevel::Info),
        ("TRACE", LogLevel::Trace),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(s, _)| s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub name: String,
    pub starting_position: StartingPosition,
    pub batch_size: u32,
    pub batching_window_seconds: u32,
    pub max_retries: u32,
    pub max_record_age_seconds: u32,
    pub bisect_on_error: bool,
    pub parallelization: u32,
    /// Pipes filter patterns (JSON objects), ORed.
    pub filters: Vec<Spanned<serde_json::Value>>,
    /// A literal detail-type, or a `$.` JSON path into the stream record.
    pub detail_type: Spanned<String>,
    /// A literal source, or a `$.` JSON path into the stream record.
    pub source: Spanned<String>,
    pub input_template: Option<Spanned<String>>,
    pub dlq_retention_seconds: u32,
    pub log_level: LogLevel,
    pub log_retention_days: u32,
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bus {
    pub name: String,
    pub archive: Option<Archive>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// 0 keeps events forever.
    pub retention_days: u32,
    pub pattern: Option<Spanned<serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub name: String,
    pub span: Span,
    pub visibility_timeout_seconds: u32,
    pub retention_seconds: u32,
    pub max_receive_count: u32,
    pub dlq_retention_seconds: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub span: Span,
    pub description: Option<String>,
    pub pattern: Spanned<serde_json::Value>,
    pub targets: Vec<Spanned<String>>,
    pub max_retry_attempts: u32,
    pub max_event_age_seconds: u32,
    pub input_transformer: Option<InputTransformer>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputTransformer {
    pub paths: BTreeMap<String, String>,
    /// Where each `input_paths` entry is written: its name and its path.
    pub path_spans: BTreeMap<String, (Span, Span)>,
    pub template: Spanned<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// The resource path segment: `POST /<path>`.
    pub path: String,
    pub auth: ApiAuth,
    pub stage: String,
    /// Fields copied from the JSON body into the item.
    pub fields: Vec<ApiField>,
    /// Prefix of the generated partition key value (`<prefix><request id>`).
    pub id_prefix: String,
}

/// The item attribute the API fills with the request time (epoch milliseconds, sorts).
pub const CREATED_AT_ATTRIBUTE: &str = "createdAt";

/// A JSON body field the API copies into the item, with its DynamoDB type (S or N).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiField {
    pub name: String,
    pub kind: KeyType,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiAuth {
    Iam,
    None,
}

/// Defaults and AWS limits, named so tests, docs and the schema agree.
pub mod limits {
    pub const STACK_NAME_MAX: usize = 128;
    pub const PIPE_NAME_MAX: usize = 64;
    pub const RULE_NAME_MAX: usize = 64;
    pub const QUEUE_NAME_MAX: usize = 80;
    pub const TABLE_NAME_MAX: usize = 255;
    pub const BUS_NAME_MAX: usize = 256;
    pub const ARCHIVE_NAME_MAX: usize = 48;
    pub const TARGET_ID_MAX: usize = 64;

    /// An event-bus target receives at most 10 events per PutEvents call.
    pub const BUS_TARGET_BATCH_MAX: u32 = 10;
    pub const BATCHING_WINDOW_MAX: u32 = 300;
    pub const PIPE_RETRIES_MAX: u32 = 10_000;
    pub const RECORD_AGE_MIN: u32 = 60;
    /// Records leave the stream after 24 hours: a longer age could never be reached.
    pub const RECORD_AGE_MAX: u32 = 86_399;
    pub const PARALLELIZATION_MAX: u32 = 10;
    pub const PIPE_FILTERS_MAX: usize = 5;
    pub const DETAIL_TYPE_MAX: usize = 128;
    pub const SOURCE_MAX: usize = 256;
    pub const PIPE_INPUT_TEMPLATE_MAX: usize = 8192;

    pub const TARGETS_PER_RULE_MAX: usize = 5;
    pub const RULE_RETRIES_MAX: u32 = 185;
    pub const EVENT_AGE_MIN: u32 = 60;
    pub const EVENT_AGE_MAX: u32 = 86_400;
    pub const RULE_INPUT_TEMPLATE_MAX: usize = 8192;

    pub const VISIBILITY_TIMEOUT_MAX: u32 = 43_200;
    pub const RETENTION_MIN: u32 = 60;
    pub const RETENTION_MAX: u32 = 1_209_600;
    pub const MAX_RECEIVE_COUNT_MAX: u32 = 1000;

    pub const DEFAULT_BATCH_SIZE: u32 = 10;
    pub const DEFAULT_PIPE_RETRIES: u32 = 10;
    pub const DEFAULT_RECORD_AGE: u32 = 3600;
    pub const DEFAULT_RULE_RETRIES: u32 = 24;
    pub const DEFAULT_EVENT_AGE: u32 = 3600;
    pub const DEFAULT_VISIBILITY_TIMEOUT: u32 = 30;
    pub const DEFAULT_RETENTION: u32 = 345_600;
    pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;
    /// DLQs keep messages the maximum time: a moved message keeps its first enqueue time.
    pub const DLQ_RETENTION: u32 = RETENTION_MAX;
    pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
    /// The retention periods CloudWatch Logs accepts.
    pub const LOG_RETENTION_DAYS: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
}
