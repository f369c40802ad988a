"""Information campaigns: subscriptions, composition, the sending engine."""
