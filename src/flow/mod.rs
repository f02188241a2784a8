//! The outbox flow as AWS computes it, from a write to the rules it reaches: the stream
//! record a write produces ([`record`]), what the pipe makes of it ([`pipe`]: filters,
//! input template, detail-type and source), the event the bus receives and the rules it
//! matches ([`bus`]). The local engine runs events through this, and `verify` and
//! `pattern test --blueprint` predict with it, so prediction and execution cannot drift.

pub mod bus;
pub mod pipe;
pub mod record;

pub use bus::{Routing, envelope};
pub use pipe::{BusEntry, FlowError, PipeProgram};
