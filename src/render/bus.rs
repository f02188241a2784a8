//! The custom event bus the pipe publishes to, and its optional archive for replays.

use serde_json::json;

use super::intrinsic::{get_att, tag_list, with_tags};
use super::template::Template;
use crate::blueprint::{Blueprint, logical, output};

pub fn render(bp: &Blueprint, t: &mut Template) {
    t.resource(
        logical::BUS,
        json!({
            "Type": "AWS::Events::EventBus",
            "Properties": with_tags(json!({ "Name": bp.bus_name() }), tag_list(bp)),
        }),
    );
    t.output(
        output::BUS_NAME,
        "Event bus the pipe publishes to",
        get_att(logical::BUS, "Name"),
    );
    t.output(
        output::BUS_ARN,
        "ARN of the event bus",
        get_att(logical::BUS, "Arn"),
    );

    if let Some(archive) = &bp.bus.archive {
        let mut properties = json!({
            "ArchiveName": bp.archive_name(),
            "Description": format!("Events of {} kept for replay", bp.bus_name()),
            "SourceArn": get_att(logical::BUS, "Arn"),
            "RetentionDays": archive.retention_days,
        });
        if let Some(pattern) = &archive.pattern {
            properties["EventPattern"] = pattern.value.clone();
        }
        t.resource(
            logical::ARCHIVE,
            json!({ "Type": "AWS::Events::Archive", "Properties": properties }),
        );
        t.output(
            output::ARCHIVE_ARN,
            "Archive of the bus's events, for replays",
            get_att(logical::ARCHIVE, "Arn"),
        );
    }
}
