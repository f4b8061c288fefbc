"""Users, roles and sessions of the moderator queue."""
