//! A pipe's lifecycle as AWS declares it: `CurrentState` moves through transitional states
//! (CREATING, STARTING, STOPPING, UPDATING, DELETING) to RUNNING or STOPPED. Requests are
//! checked against this table; a request the current state does not allow is a conflict.

/// The states this engine uses (a subset of AWS's PipeState; the `*_FAILED` states never
/// occur locally because creation and updates cannot fail after validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeState {
    Creating,
    Running,
    Stopped,
    Starting,
    Stopping,
    Updating,
    Deleting,
}

/// What a request asks of a pipe, or the engine settling a transitional state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeEvent {
    Start,
    Stop,
    Update,
    Delete,
    /// The transitional state's work is done; the pipe reaches its desired state.
    Settle {
        run: bool,
    },
}

use PipeEvent as E;
use PipeState as S;

/// `(from, event, to)`; `Settle` rows list both outcomes.
const TRANSITIONS: &[(PipeState, PipeEvent, PipeState)] = &[
    (S::Creating, E::Settle { run: true }, S::Running),
    (S::Creating, E::Settle { run: false }, S::Stopped),
    (S::Stopped, E::Start, S::Starting),
    (S::Starting, E::Settle { run: true }, S::Running),
    (S::Running, E::Stop, S::Stopping),
    (S::Stopping, E::Settle { run: false }, S::Stopped),
    (S::Running, E::Update, S::Updating),
    (S::Stopped, E::Update, S::Updating),
    (S::Updating, E::Settle { run: true }, S::Running),
    (S::Updating, E::Settle { run: false }, S::Stopped),
    (S::Running, E::Delete, S::Deleting),
    (S::Stopped, E::Delete, S::Deleting),
];

impl PipeState {
    pub fn as_str(self) -> &'static str {
        match self {
            S::Creating => "CREATING",
            S::Running => "RUNNING",
            S::Stopped => "STOPPED",
            S::Starting => "STARTING",
            S::Stopping => "STOPPING",
            S::Updating => "UPDATING",
            S::Deleting => "DELETING",
        }
    }

    pub fn parse(text: &str) -> Option<PipeState> {
        [
            S::Creating,
            S::Running,
            S::Stopped,
            S::Starting,
            S::Stopping,
            S::Updating,
            S::Deleting,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The state `event` leads to, or `None` when this state does not allow it.
    pub fn next(self, event: PipeEvent) -> Option<PipeState> {
        TRANSITIONS
            .iter()
            .find(|(from, on, _)| *from == self && *on == event)
            .map(|(_, _, to)| *to)
    }

    /// The state a pipe left in a transitional state (e.g. by a crash) settles to.
    pub fn settled(self, run: bool) -> PipeState {
        self.next(PipeEvent::Settle { run }).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_table() {
        assert_eq!(S::Stopped.next(E::Start), Some(S::Starting));
        assert_eq!(S::Running.next(E::Start), None);
        assert_eq!(S::Starting.settled(true), S::Running);
        assert_eq!(S::Creating.settled(false), S::Stopped);
        assert_eq!(S::Stopping.next(E::Delete), None);
        assert_eq!(PipeState::parse("UPDATING"), Some(S::Updating));
    }
}
