//! Fault injection for tests and demos: make deliveries to a queue, or PutEvents to a bus,
//! fail for a while, so retry and dead-letter paths can be exercised offline. Set through
//! the admin endpoint `POST /_outboxctl/faults` (see docs/local-engine.md). Kept in memory:
//! a restart clears every fault.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::local::clock::Clock;

/// What a fault names: `queue:<name>` or `bus:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FaultTarget {
    Queue(String),
    Bus(String),
}

impl FaultTarget {
    pub fn parse(text: &str) -> Option<FaultTarget> {
        match text.split_once(':') {
            Some(("queue", name)) if !name.is_empty() => Some(FaultTarget::Queue(name.into())),
            Some(("bus", name)) if !name.is_empty() => Some(FaultTarget::Bus(name.into())),
            _ => None,
        }
    }
}

/// The active faults of one engine.
#[derive(Debug, Clone)]
pub struct Faults {
    clock: Arc<dyn Clock>,
    refusals: Arc<Mutex<HashMap<FaultTarget, i64>>>,
}

impl Faults {
    pub fn new(clock: Arc<dyn Clock>) -> Faults {
        Faults {
            clock,
            refusals: Arc::default(),
        }
    }

    /// Refuse deliveries to `target` for `seconds` from now.
    pub fn refuse(&self, target: FaultTarget, seconds: u64) {
        let until = self.clock.now_ms() + (seconds as i64) * 1000;
        if let Ok(mut refusals) = self.refusals.lock() {
            refusals.insert(target, until);
        }
    }

    /// Clear one fault, or all of them.
    pub fn clear(&self, target: Option<&FaultTarget>) {
        if let Ok(mut refusals) = self.refusals.lock() {
            match target {
                Some(target) => {
                    refusals.remove(target);
                }
                None => refusals.clear(),
            }
        }
    }

    pub fn is_refused(&self, target: &FaultTarget) -> bool {
        let now = self.clock.now_ms();
        self.refusals
            .lock()
            .map(|r| r.get(target).is_some_and(|until| *until > now))
            .unwrap_or(false)
    }

    /// The active faults with the seconds they have left.
    pub fn active(&self) -> Vec<(FaultTarget, i64)> {
        let now = self.clock.now_ms();
        self.refusals
            .lock()
            .map(|r| {
                r.iter()
                    .filter(|(_, until)| **until > now)
                    .map(|(t, until)| (t.clone(), (until - now + 999) / 1000))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl std::fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultTarget::Queue(name) => write!(f, "queue:{name}"),
            FaultTarget::Bus(name) => write!(f, "bus:{name}"),
        }
    }
}
