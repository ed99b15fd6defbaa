"""The four complaint procedures as versioned durable_rules rulesets, and `evaluate`, the one way to take a decision."""
