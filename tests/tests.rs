//! outboxctl's integration tests: one binary, one module per area.

mod support;

mod bad_blueprints;
mod commands;
mod moto;
mod patterns;
mod templates;
