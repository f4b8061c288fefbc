"""The moderator queue API (and, later, pages) served by otklik itself."""
