//! outboxctl: provision and prove the transactional outbox pattern on AWS or on the
//! embedded local engine.
//!
//! The phases are separate modules with their own types, and nothing before `cloud`
//! (or the local engine) does I/O:
//!
//! blueprint text → [`blueprint::Blueprint`] (validated, spans kept for errors)
//! → [`render`] (CloudFormation template) → the AWS SDK, against AWS or [`local`].

pub mod blueprint;
pub mod cli;
pub mod cloud;
pub mod flow;
pub mod local;
pub mod pattern;
pub mod render;
