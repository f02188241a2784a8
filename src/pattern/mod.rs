//! EventBridge event patterns and input templates (filled in by issue 3).
