//! Archive retention: archived events older than their archive's `RetentionDays` are
//! deleted (0 keeps them forever, as on AWS).

use rusqlite::params;

use super::{Events, EventsError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Events {
    /// Delete archived events past their archive's retention; returns how many.
    pub async fn expire_archived(&self) -> Result<usize, EventsError> {
        let now = self.clock.now_ms();
        self.storage
            .write(move |conn| -> Result<usize, EventsError> {
                Ok(conn.execute(
                    "DELETE FROM events_archived WHERE id IN (
                        SELECT e.id FROM events_archived e JOIN events_archives a ON a.name = e.archive
                        WHERE a.retention_days > 0 AND e.archived_ms < ?1 - a.retention_days * ?2)",
                    params![now, DAY_MS],
                )?)
            })
            .await
    }
}
