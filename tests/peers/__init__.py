"""Real peer software the tests start and stop: PostgreSQL, later emulators."""
