//! The event a bus receives for a PutEvents entry, and which of a blueprint's rules it
//! matches (all rules compiled into one matcher).

use serde_json::{Value, json};

use super::pipe::BusEntry;
use crate::blueprint::Blueprint;
use crate::pattern::{EventPattern, Matcher, PatternError};

/// The event envelope EventBridge builds around an entry.
pub fn envelope(
    entry: &BusEntry,
    id: &str,
    account: &str,
    region: &str,
    time: &str,
    resources: &[String],
) -> Value {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
    json!({
        "version": "0",
        "id": id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": time,
        "region": region,
        "resources": resources,
        "detail": detail,
    })
}

/// A blueprint's rules, by name, compiled into one matcher.
pub struct Routing {
    matcher: Matcher<usize>,
    names: Vec<String>,
    enabled: Vec<bool>,
}

impl Routing {
    pub fn new(bp: &Blueprint) -> Result<Routing, (String, PatternError)> {
        let mut matcher = Matcher::new();
        for (i, rule) in bp.rules.iter().enumerate() {
            let pattern = EventPattern::from_value(&rule.pattern.value)
                .map_err(|e| (rule.name.clone(), e))?;
            matcher.add(i, &pattern);
        }
        Ok(Routing {
            matcher,
            names: bp.rules.iter().map(|r| r.name.clone()).collect(),
            enabled: bp.rules.iter().map(|r| r.enabled).collect(),
        })
    }

    /// Names of the enabled rules the event matches, in blueprint order.
    pub fn route(&self, event: &Value) -> Vec<&str> {
        self.patterns_matching(event)
            .into_iter()
            .filter(|&(_, enabled)| enabled)
            .map(|(name, _)| name)
            .collect()
    }

    /// Every rule whose pattern matches the event, disabled ones too, with whether it is
    /// enabled, in blueprint order.
    pub fn patterns_matching(&self, event: &Value) -> Vec<(&str, bool)> {
        let mut hits = self.matcher.matches(event);
        hits.sort_unstable();
        hits.into_iter()
            .map(|i| (self.names[i].as_str(), self.enabled[i]))
            .collect()
    }
}
