//! The embedded local engine (issue 4 onwards).
