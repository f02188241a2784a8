//! Rules, their targets and archives: PutRule (pattern validated with AWS's
//! InvalidEventPatternException message), Describe/List/Enable/Disable/DeleteRule,
//! PutTargets/RemoveTargets/ListTargetsByRule, archives, and TestEventPattern.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::Events;
use super::error::EventsError;
use super::target::{MAX_TARGETS_PER_RULE, Target};
use crate::pattern::{EventPattern, check_pattern_length, validate_test_event};

pub const MAX_RULE_NAME_CHARS: usize = 64;
const RULE_STATES: [&str; 3] = [
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

/// What PutRule takes.
#[derive(Debug, Clone, Default)]
pub struct RuleSpec {
    pub name: String,
    /// Name or ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
    pub event_pattern: Option<String>,
    /// Recorded; schedules are not run by the local engine.
    pub schedule_expression: Option<String>,
    /// ENABLED (default) or DISABLED.
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
}

/// A rule as DescribeRule answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub arn: String,
    pub event_bus_name: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
}

/// An archive as DescribeArchive answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub name: String,
    pub arn: String,
    pub source_arn: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: i64,
    pub event_count: i64,
    pub size_bytes: i64,
    pub created_ms: i64,
}

type RuleRow = (
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

impl Events {
    /// Create or update a rule; returns its ARN.
    pub async fn put_rule(&self, spec: RuleSpec) -> Result<String, EventsError> {
        let bus = Events::bus_name(spec.event_bus_name.as_deref());
        validate_rule_name(&spec.name)?;
        match (&spec.event_pattern, &spec.schedule_expression) {
            (None, None) => {
                return Err(EventsError::Validation(
                    "Parameter(s) EventPattern or ScheduleExpression must be specified.".into(),
                ));
            }
            (_, Some(_)) if bus != super::DEFAULT_BUS => {
                return Err(EventsError::Validation(
                    "ScheduleExpression is supported only on the default event bus.".into(),
                ));
            }
            _ => {}
        }
        if let Some(pattern) = &spec.event_pattern {
            check_pattern_length(pattern).map_err(EventsError::Validation)?;
            EventPattern::parse(pattern)?;
        }
        let state = spec.state.clone().unwrap_or_else(|| "ENABLED".to_string());
        if !RULE_STATES.contains(&state.as_str()) {
            return Err(EventsError::Validation(format!(
                "1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )));
        }
        if !self.bus_exists(&bus).await? {
            return Err(EventsError::bus_not_found(&bus));
        }
        let now = self.clock.now_ms();
        let owned_bus = bus.clone();
        let arn = self.rule_arn(&bus, &spec.name);
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                conn.execute(
                    "INSERT INTO events_rules (bus, name, event_pattern, schedule_expression, state, description, role_arn, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (bus, name) DO UPDATE SET event_pattern = excluded.event_pattern,
                        schedule_expression = excluded.schedule_expression, state = excluded.state,
                        description = excluded.description, role_arn = excluded.role_arn",
                    params![owned_bus, spec.name, spec.event_pattern, spec.schedule_expression, state, spec.description, spec.role_arn, now],
                )?;
                Ok(())
            })
            .await?;
        self.invalidate(&bus);
        Ok(arn)
    }

    pub async fn describe_rule(&self, name: &str, bus: Option<&str>) -> Result<Rule, EventsError> {
        let bus = Events::bus_name(bus);
        let (owned, owned_bus) = (name.to_string(), bus.clone());
        let row = self
            .storage
            .read(move |conn| -> Result<Option<RuleRow>, EventsError> {
                Ok(conn
                    .query_row(
                        "SELECT event_pattern, schedule_expression, state, description, role_arn FROM events_rules WHERE bus = ?1 AND name = ?2",
                        params![owned_bus, owned],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?)
            })
            .await?;
        let (event_pattern, schedule_expression, state, description, role_arn) =
            row.ok_or_else(|| EventsError::rule_not_found(name, &bus))?;
        Ok(Rule {
            name: name.to_string(),
            arn: self.rule_arn(&bus, name),
            event_bus_name: bus,
            event_pattern,
            schedule_expression,
            state,
            description,
            role_arn,
        })
    }

    /// Rules of a bus whose names start with `prefix`, by name.
    pub async fn list_rules(
        &self,
        bus: Option<&str>,
        prefix: Option<String>,
    ) -> Result<Vec<Rule>, EventsError> {
        let bus = Events::bus_name(bus);
        if !self.bus_exists(&bus).await? {
            return Err(EventsError::bus_not_found(&bus));
        }
        let owned_bus = bus.clone();
        let names = self
            .storage
            .read(move |conn| -> Result<Vec<String>, EventsError> {
                let mut statement =
                    conn.prepare("SELECT name FROM events_rules WHERE bus = ?1 ORDER BY name")?;
                let names = statement
                    .query_map([&owned_bus], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(names)
            })
            .await?;
        let mut rules = Vec::new();
        for name in names
            .into_iter()
            .filter(|n| prefix.as_deref().is_none_or(|p| n.starts_with(p)))
        {
            rules.push(self.describe_rule(&name, Some(&bus)).await?);
        }
        Ok(rules)
    }

    /// EnableRule / DisableRule.
    pub async fn set_rule_state(
        &self,
        name: &str,
        bus: Option<&str>,
        enabled: bool,
    ) -> Result<(), EventsError> {
        let bus = Events::bus_name(bus);
        let (owned, owned_bus) = (name.to_string(), bus.clone());
        let state = if enabled { "ENABLED" } else { "DISABLED" };
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let changed = conn.execute(
                    "UPDATE events_rules SET state = ?3 WHERE bus = ?1 AND name = ?2",
                    params![owned_bus, owned, state],
                )?;
                if changed == 0 {
                    return Err(EventsError::rule_not_found(&owned, &owned_bus));
                }
                Ok(())
            })
            .await?;
        self.invalidate(&bus);
        Ok(())
    }

    /// DeleteRule: refused while the rule has targets unless `force`.
    pub async fn delete_rule(
        &self,
        name: &str,
        bus: Option<&str>,
        force: bool,
    ) -> Result<(), EventsError> {
        let bus = Events::bus_name(bus);
        let (owned, owned_bus) = (name.to_string(), bus.clone());
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let targets: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM events_targets WHERE bus = ?1 AND rule = ?2",
                    params![owned_bus, owned],
                    |r| r.get(0),
                )?;
                if targets > 0 && !force {
                    return Err(EventsError::Validation(
                        "Rule can't be deleted since it has targets.".into(),
                    ));
                }
                conn.execute(
                    "DELETE FROM events_targets WHERE bus = ?1 AND rule = ?2",
                    params![owned_bus, owned],
                )?;
                // Deleting a rule that does not exist succeeds, as on AWS.
                conn.execute(
                    "DELETE FROM events_rules WHERE bus = ?1 AND name = ?2",
                    params![owned_bus, owned],
                )?;
                Ok(())
            })
            .await?;
        self.invalidate(&bus);
        Ok(())
    }

    /// PutTargets: add or replace targets by id (at most 5 per rule).
    pub async fn put_targets(
        &self,
        rule: &str,
        bus: Option<&str>,
        targets: Vec<Target>,
    ) -> Result<(), EventsError> {
        let bus = Events::bus_name(bus);
        for target in &targets {
            target.validate()?;
        }
        let (owned, owned_bus) = (rule.to_string(), bus.clone());
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let exists = conn
                    .query_row("SELECT 1 FROM events_rules WHERE bus = ?1 AND name = ?2", params![owned_bus, owned], |_| Ok(()))
                    .optional()?;
                if exists.is_none() {
                    return Err(EventsError::rule_not_found(&owned, &owned_bus));
                }
                for target in &targets {
                    let text = serde_json::to_string(target).map_err(|e| EventsError::Internal(e.to_string()))?;
                    conn.execute(
                        "INSERT INTO events_targets (bus, rule, id, target) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (bus, rule, id) DO UPDATE SET target = excluded.target",
                        params![owned_bus, owned, target.id, text],
                    )?;
                }
                let count: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM events_targets WHERE bus = ?1 AND rule = ?2",
                    params![owned_bus, owned],
                    |r| r.get(0),
                )?;
                if count as usize > MAX_TARGETS_PER_RULE {
                    return Err(EventsError::LimitExceeded(format!(
                        "The requested resource exceeds the maximum number allowed. A rule can have at most {MAX_TARGETS_PER_RULE} targets."
                    )));
                }
                Ok(())
            })
            .await?;
        self.invalidate(&bus);
        Ok(())
    }

    pub async fn remove_targets(
        &self,
        rule: &str,
        bus: Option<&str>,
        ids: Vec<String>,
    ) -> Result<(), EventsError> {
        let bus = Events::bus_name(bus);
        let (owned, owned_bus) = (rule.to_string(), bus.clone());
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let exists = conn
                    .query_row(
                        "SELECT 1 FROM events_rules WHERE bus = ?1 AND name = ?2",
                        params![owned_bus, owned],
                        |_| Ok(()),
                    )
                    .optional()?;
                if exists.is_none() {
                    return Err(EventsError::rule_not_found(&owned, &owned_bus));
                }
                for id in &ids {
                    conn.execute(
                        "DELETE FROM events_targets WHERE bus = ?1 AND rule = ?2 AND id = ?3",
                        params![owned_bus, owned, id],
                    )?;
                }
                Ok(())
            })
            .await?;
        self.invalidate(&bus);
        Ok(())
    }

    pub async fn list_targets_by_rule(
        &self,
        rule: &str,
        bus: Option<&str>,
    ) -> Result<Vec<Target>, EventsError> {
        let bus = Events::bus_name(bus);
        self.describe_rule(rule, Some(&bus)).await?;
        let owned = rule.to_string();
        self.storage
            .read(move |conn| -> Result<Vec<Target>, EventsError> {
                let mut statement = conn.prepare(
                    "SELECT target FROM events_targets WHERE bus = ?1 AND rule = ?2 ORDER BY id",
                )?;
                let texts = statement
                    .query_map(params![bus, owned], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                texts
                    .iter()
                    .map(|t| {
                        serde_json::from_str(t).map_err(|e| EventsError::Internal(e.to_string()))
                    })
                    .collect()
            })
            .await
    }

    /// TestEventPattern: validate the pattern and the event as AWS does, then match.
    pub fn test_event_pattern(&self, pattern: &str, event: &str) -> Result<bool, EventsError> {
        check_pattern_length(pattern).map_err(EventsError::Validation)?;
        let pattern = EventPattern::parse(pattern)?;
        let event: Value = serde_json::from_str(event)
            .map_err(|_| EventsError::Validation("Parameter Event is not valid.".into()))?;
        validate_test_event(&event).map_err(|e| EventsError::Validation(e.to_string()))?;
        Ok(pattern.matches(&event))
    }

    pub async fn create_archive(
        &self,
        name: &str,
        source_arn: &str,
        description: Option<String>,
        event_pattern: Option<String>,
        retention_days: Option<i64>,
    ) -> Result<Archive, EventsError> {
        validate_rule_name(name)?;
        if let Some(pattern) = &event_pattern {
            EventPattern::parse(pattern)?;
        }
        let bus = Events::bus_name(Some(source_arn));
        if !self.bus_exists(&bus).await? {
            return Err(EventsError::bus_not_found(&bus));
        }
        let now = self.clock.now_ms();
        let (owned, source) = (name.to_string(), self.bus_arn(&bus));
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO events_archives (name, source_arn, description, event_pattern, retention_days, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![owned, source, description, event_pattern, retention_days.unwrap_or(0), now],
                )?;
                if inserted == 0 {
                    return Err(EventsError::ResourceAlreadyExists(format!("Archive {owned} already exists.")));
                }
                Ok(())
            })
            .await?;
        self.invalidate_all();
        self.describe_archive(name).await
    }

    pub async fn describe_archive(&self, name: &str) -> Result<Archive, EventsError> {
        let owned = name.to_string();
        let arn = self.archive_arn(name);
        self.storage
            .read(move |conn| -> Result<Archive, EventsError> {
                let row = conn
                    .query_row(
                        "SELECT source_arn, description, event_pattern, retention_days, created_ms FROM events_archives WHERE name = ?1",
                        [&owned],
                        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .optional()?;
                let (source_arn, description, event_pattern, retention_days, created_ms) =
                    row.ok_or_else(|| EventsError::ResourceNotFound(format!("Archive {owned} does not exist.")))?;
                let (event_count, size_bytes): (i64, i64) = conn.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(event)), 0) FROM events_archived WHERE archive = ?1",
                    [&owned],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                Ok(Archive { name: owned, arn, source_arn, description, event_pattern, retention_days, event_count, size_bytes, created_ms })
            })
            .await
    }

    /// UpdateArchive: description, pattern and retention change; archived events stay.
    pub async fn update_archive(
        &self,
        name: &str,
        description: Option<String>,
        event_pattern: Option<String>,
        retention_days: Option<i64>,
    ) -> Result<Archive, EventsError> {
        if let Some(pattern) = &event_pattern {
            EventPattern::parse(pattern)?;
        }
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                let changed = conn.execute(
                    "UPDATE events_archives SET description = COALESCE(?2, description),
                        event_pattern = COALESCE(?3, event_pattern),
                        retention_days = COALESCE(?4, retention_days) WHERE name = ?1",
                    params![owned, description, event_pattern, retention_days],
                )?;
                if changed == 0 {
                    return Err(EventsError::ResourceNotFound(format!(
                        "Archive {owned} does not exist."
                    )));
                }
                Ok(())
            })
            .await?;
        self.invalidate_all();
        self.describe_archive(name).await
    }

    /// Archives whose names start with `prefix`, optionally of one source bus.
    pub async fn list_archives(
        &self,
        prefix: Option<String>,
        source_arn: Option<String>,
    ) -> Result<Vec<Archive>, EventsError> {
        let names = self
            .storage
            .read(move |conn| -> Result<Vec<String>, EventsError> {
                let mut statement = conn.prepare(
                    "SELECT name FROM events_archives WHERE ?1 IS NULL OR source_arn = ?1 ORDER BY name",
                )?;
                let names = statement
                    .query_map([source_arn], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(names)
            })
            .await?;
        let mut archives = Vec::new();
        for name in names
            .into_iter()
            .filter(|n| prefix.as_deref().is_none_or(|p| n.starts_with(p)))
        {
            archives.push(self.describe_archive(&name).await?);
        }
        Ok(archives)
    }

    pub async fn delete_archive(&self, name: &str) -> Result<(), EventsError> {
        let owned = name.to_string();
        self.storage
            .write(move |conn| -> Result<(), EventsError> {
                if conn.execute("DELETE FROM events_archives WHERE name = ?1", [&owned])? == 0 {
                    return Err(EventsError::ResourceNotFound(format!(
                        "Archive {owned} does not exist."
                    )));
                }
                conn.execute("DELETE FROM events_archived WHERE archive = ?1", [&owned])?;
                Ok(())
            })
            .await?;
        self.invalidate_all();
        Ok(())
    }
}

fn validate_rule_name(name: &str) -> Result<(), EventsError> {
    if super::is_simple_name(name, MAX_RULE_NAME_CHARS) {
        Ok(())
    } else {
        Err(EventsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64"
        )))
    }
}
