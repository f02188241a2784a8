//! Input templates: how a pipe reshapes a record before the target (`<$.path>` placeholders
//! and `<aws.pipes.*>` variables) and how a rule target's InputTransformer reshapes an event
//! (`InputPathsMap` names and `<aws.events.*>` variables).

mod json_path;
mod pipe;
mod placeholder;
mod transformer;

pub use json_path::JsonPath;
pub use pipe::{MAX_PIPE_TEMPLATE_CHARS, PIPE_VARIABLES, PipeContext, PipeInputTemplate};
pub use placeholder::TemplateError;
pub use transformer::{
    InputTransformer, MAX_INPUT_PATHS, MAX_TRANSFORMER_TEMPLATE_CHARS, RULE_VARIABLES, RuleContext,
    input_path,
};
