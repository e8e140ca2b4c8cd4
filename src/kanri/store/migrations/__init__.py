"""Alembic migrations of the configuration database; run them with :mod:`kanri.store.migrate`."""
