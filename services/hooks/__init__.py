"""The hooks worker: webhook dispatch and delivery on their own queue (aicity.hooks)."""
