//! The CloudFormation template being built, in a fixed key order.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    description: String,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Template {
    pub fn new(description: String) -> Template {
        Template {
            description,
            resources: Map::new(),
            outputs: Map::new(),
        }
    }

    /// Add a resource. A logical id is added once: two families claiming one id is a bug.
    pub fn resource(&mut self, id: impl Into<String>, resource: Value) {
        let id = id.into();
        let previous = self.resources.insert(id.clone(), resource);
        assert!(previous.is_none(), "logical id `{id}` rendered twice");
    }

    pub fn output(&mut self, key: impl Into<String>, description: &str, value: Value) {
        self.outputs.insert(
            key.into(),
            json!({ "Description": description, "Value": value }),
        );
    }

    pub fn resources(&self) -> &Map<String, Value> {
        &self.resources
    }

    pub fn outputs(&self) -> &Map<String, Value> {
        &self.outputs
    }

    pub fn to_value(&self) -> Value {
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": self.description,
            "Resources": self.resources,
            "Outputs": self.outputs,
        })
    }

    pub fn to_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.to_value()).expect("a JSON value always serializes");
        text.push('\n');
        text
    }

    /// Without whitespace: what deploy sends, to stay far from the 51,200-byte inline limit.
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(&self.to_value()).expect("a JSON value always serializes")
    }

    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(&self.to_value()).expect("a JSON value always serializes to YAML")
    }
}
