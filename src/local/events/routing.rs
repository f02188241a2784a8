//! Where a bus's events go: all of its rules compiled into one [`Matcher`] (matching cost
//! does not grow with the number of rules), with each rule's state and target ids, and
//! the archives fed from the bus. Rebuilt from storage after any change to them.

use rusqlite::Connection;
use serde_json::Value;

use super::error::EventsError;
use crate::pattern::{EventPattern, Matcher};

/// One rule as routing needs it.
#[derive(Debug, Clone)]
pub struct RoutedRule {
    pub name: String,
    pub enabled: bool,
    pub target_ids: Vec<String>,
}

/// A bus's compiled routing.
#[derive(Debug, Clone, Default)]
pub struct BusRouting {
    matcher: Matcher<usize>,
    rules: Vec<RoutedRule>,
    /// Archive name and its pattern (`None` archives everything).
    archives: Vec<(String, Option<EventPattern>)>,
}

impl BusRouting {
    pub fn load(conn: &Connection, bus: &str, bus_arn: &str) -> Result<BusRouting, EventsError> {
        let mut routing = BusRouting::default();
        let mut rules = conn.prepare(
            "SELECT name, event_pattern, state FROM events_rules WHERE bus = ?1 AND event_pattern IS NOT NULL ORDER BY name",
        )?;
        let rows: Vec<(String, String, String)> = rules
            .query_map([bus], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut targets =
            conn.prepare("SELECT id FROM events_targets WHERE bus = ?1 AND rule = ?2 ORDER BY id")?;
        for (name, pattern, state) in rows {
            // Stored patterns were validated by PutRule; one that no longer parses (a newer
            // engine's stricter check) routes nothing rather than failing the whole bus.
            let Ok(pattern) = EventPattern::parse(&pattern) else {
                tracing::warn!(rule = %name, "stored event pattern no longer parses; the rule matches nothing");
                continue;
            };
            let target_ids = targets
                .query_map(rusqlite::params![bus, name], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            routing.matcher.add(routing.rules.len(), &pattern);
            routing.rules.push(RoutedRule {
                name,
                enabled: state.starts_with("ENABLED"),
                target_ids,
            });
        }
        let mut archives = conn.prepare(
            "SELECT name, event_pattern FROM events_archives WHERE source_arn = ?1 ORDER BY name",
        )?;
        let rows: Vec<(String, Option<String>)> = archives
            .query_map([bus_arn], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, pattern) in rows {
            let pattern = pattern
                .as_deref()
                .map(EventPattern::parse)
                .transpose()
                .ok()
                .flatten();
            routing.archives.push((name, pattern));
        }
        Ok(routing)
    }

    /// The enabled rules an event matches.
    pub fn matching_rules(&self, event: &Value) -> Vec<&RoutedRule> {
        let mut hits = self.matcher.matches(event);
        hits.sort_unstable();
        hits.into_iter()
            .filter_map(|i| self.rules.get(i))
            .filter(|rule| rule.enabled)
            .collect()
    }

    /// The archives that keep an event.
    pub fn matching_archives(&self, event: &Value) -> Vec<&str> {
        self.archives
            .iter()
            .filter(|(_, pattern)| pattern.as_ref().is_none_or(|p| p.matches(event)))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}
