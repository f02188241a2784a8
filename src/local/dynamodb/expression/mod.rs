//! DynamoDB's expression language (conditions, filters, key conditions, updates and
//! projections): parsed once per request, then evaluated against items.

pub mod ast;
pub mod eval;
pub mod parser;
mod reserved_words;

#[cfg(test)]
mod tests;

pub use ast::{Comparator, Condition, Operand, Path, PathElement, Update};
pub use eval::{apply_update, evaluate, project, resolve};
pub use parser::{Placeholders, parse_condition, parse_projection, parse_update};
