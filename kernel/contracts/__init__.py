"""Topic contracts: every topic's versioned name and its message model, in one place."""
