"""The REST API (FastAPI). Every endpoint needs a bearer token."""
