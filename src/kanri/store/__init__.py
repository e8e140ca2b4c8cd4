"""SQLAlchemy tables, Alembic migrations and the repository the engine talks to."""
