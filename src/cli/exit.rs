//! Exit codes that mean something to scripts, stable across commands.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked (or the answer was "yes").
    Success,
    /// The command ran but the outcome is negative: validation found errors, a deploy
    /// failed, a pattern did not match, a prediction was not met.
    Failure,
    /// The input itself is unusable: bad arguments, an invalid pattern or template.
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Failure => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
        }
    }
}
