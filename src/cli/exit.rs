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

/// A problem with what was asked, found after the arguments parsed (a value out of range,
/// a rule the blueprint lacks, a file that cannot be read): exits 2, as clap's own
/// errors do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Return a [`UsageError`] from the current function unless `condition` holds.
macro_rules! ensure_usage {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::cli::exit::UsageError(format!($($message)+)).into());
        }
    };
}
pub(crate) use ensure_usage;

/// How an error that ended a command exits: 2 for unusable input, else 1.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    let unusable = err.chain().any(|cause| {
        cause.is::<UsageError>()
            || matches!(
                cause.downcast_ref::<crate::blueprint::LoadError>(),
                Some(crate::blueprint::LoadError::Read { .. })
            )
    });
    if unusable { Exit::Usage } else { Exit::Failure }
}

/// The error and its causes, each said once: many messages already quote their cause,
/// which `{:#}` would print again.
pub fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let err = anyhow::Error::new(crate::blueprint::LoadError::Read {
            path: "outbox.yaml".into(),
            source: io,
        });
        let text = describe(&err);
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
        assert_eq!(exit_for(&err), Exit::Usage);
        let wrapped = anyhow::anyhow!("outer").context("more");
        assert_eq!(describe(&wrapped), "more: outer");
        assert_eq!(exit_for(&wrapped), Exit::Failure);
    }
}
