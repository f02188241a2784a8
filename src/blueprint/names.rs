//! Every AWS name and CloudFormation logical id derived from a blueprint, in one place,
//! so the renderer, the validator and the commands that find resources agree.

use super::model::{Blueprint, Queue, Rule};

impl Blueprint {
    pub fn table_name(&self) -> String {
        format!("{}-{}", self.name, self.table.name)
    }

    pub fn pipe_name(&self) -> String {
        format!("{}-{}", self.name, self.pipe.name)
    }

    pub fn pipe_dlq_name(&self) -> String {
        format!("{}-{}-dlq", self.name, self.pipe.name)
    }

    pub fn pipe_log_group_name(&self) -> String {
        format!("/aws/vendedlogs/pipes/{}", self.pipe_name())
    }

    pub fn bus_name(&self) -> String {
        format!("{}-{}", self.name, self.bus.name)
    }

    pub fn archive_name(&self) -> String {
        format!("{}-archive", self.name)
    }

    pub fn queue_name(&self, queue: &Queue) -> String {
        format!("{}-{}", self.name, queue.name)
    }

    pub fn queue_dlq_name(&self, queue: &Queue) -> String {
        format!("{}-{}-dlq", self.name, queue.name)
    }

    pub fn rule_name(&self, rule: &Rule) -> String {
        format!("{}-{}", self.name, rule.name)
    }

    pub fn rule_dlq_name(&self, rule: &Rule) -> String {
        format!("{}-rule-{}-dlq", self.name, rule.name)
    }

    pub fn tail_queue_name(&self) -> String {
        format!("{}-tail", self.name)
    }

    /// The catch-all rule that copies every event to the tail queue.
    pub fn tail_rule_name(&self) -> String {
        format!("{}-tail-all", self.name)
    }

    pub fn tail_dlq_name(&self) -> String {
        format!("{}-tail-dlq", self.name)
    }

    pub fn api_name(&self) -> String {
        format!("{}-api", self.name)
    }
}

/// CloudFormation logical ids: alphanumeric, so names become PascalCase.
pub mod logical {
    use super::super::model::{Queue, Rule};

    pub const TABLE: &str = "Table";
    pub const PIPE: &str = "Pipe";
    pub const PIPE_ROLE: &str = "PipeRole";
    pub const PIPE_DLQ: &str = "PipeDlq";
    pub const PIPE_LOG_GROUP: &str = "PipeLogGroup";
    pub const BUS: &str = "Bus";
    pub const ARCHIVE: &str = "BusArchive";
    pub const TAIL_QUEUE: &str = "TailQueue";
    pub const TAIL_DLQ: &str = "TailDlq";
    pub const TAIL_RULE: &str = "TailRule";
    pub const TAIL_QUEUE_POLICY: &str = "TailQueuePolicy";
    pub const TAIL_DLQ_POLICY: &str = "TailDlqPolicy";
    pub const API: &str = "Api";
    pub const API_ROLE: &str = "ApiRole";
    pub const API_RESOURCE: &str = "ApiOrdersResource";
    pub const API_METHOD: &str = "ApiPostMethod";
    pub const API_ORDER_MODEL: &str = "ApiOrderModel";
    pub const API_BODY_VALIDATOR: &str = "ApiBodyValidator";
    pub const API_BAD_BODY_RESPONSE: &str = "ApiBadBodyResponse";
    pub const API_STAGE: &str = "ApiStage";
    /// The deployment's id carries a hash of the API so that a changed API is redeployed.
    pub const API_DEPLOYMENT_PREFIX: &str = "ApiDeployment";

    pub fn pascal(name: &str) -> String {
        name.split(['_', '-'])
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn queue(queue: &Queue) -> String {
        format!("{}Queue", pascal(&queue.name))
    }

    pub fn queue_dlq(queue: &Queue) -> String {
        format!("{}QueueDlq", pascal(&queue.name))
    }

    pub fn queue_policy(queue: &Queue) -> String {
        format!("{}QueuePolicy", pascal(&queue.name))
    }

    pub fn rule(rule: &Rule) -> String {
        format!("{}Rule", pascal(&rule.name))
    }

    pub fn rule_dlq(rule: &Rule) -> String {
        format!("{}RuleDlq", pascal(&rule.name))
    }

    pub fn rule_dlq_policy(rule: &Rule) -> String {
        format!("{}RuleDlqPolicy", pascal(&rule.name))
    }
}

/// Output keys of the rendered template, read back by deploy, tail and verify.
pub mod output {
    use super::super::model::Queue;
    use super::logical::pascal;

    pub const TABLE_NAME: &str = "TableName";
    pub const TABLE_ARN: &str = "TableArn";
    pub const STREAM_ARN: &str = "StreamArn";
    pub const PIPE_NAME: &str = "PipeName";
    pub const PIPE_ARN: &str = "PipeArn";
    pub const PIPE_DLQ_URL: &str = "PipeDlqUrl";
    pub const BUS_NAME: &str = "BusName";
    pub const BUS_ARN: &str = "BusArn";
    pub const ARCHIVE_ARN: &str = "ArchiveArn";
    pub const TAIL_QUEUE_URL: &str = "TailQueueUrl";
    pub const TAIL_DLQ_URL: &str = "TailDlqUrl";
    pub const API_URL: &str = "ApiUrl";

    pub fn queue_url(queue: &Queue) -> String {
        format!("{}QueueUrl", pascal(&queue.name))
    }

    pub fn queue_arn(queue: &Queue) -> String {
        format!("{}QueueArn", pascal(&queue.name))
    }

    pub fn queue_dlq_url(queue: &Queue) -> String {
        format!("{}QueueDlqUrl", pascal(&queue.name))
    }

    pub fn rule_dlq_url(rule: &str) -> String {
        format!("{}RuleDlqUrl", pascal(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::logical::pascal;

    #[test]
    fn pascal_case_joins_words() {
        assert_eq!(pascal("notify_restaurant"), "NotifyRestaurant");
        assert_eq!(pascal("order-tracking"), "OrderTracking");
        assert_eq!(pascal("v2"), "V2");
    }
}
