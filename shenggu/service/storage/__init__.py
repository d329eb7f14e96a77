"""Persistent state of the platform: tenants, API keys, usage and jobs (SQLAlchemy 2; SQLite or PostgreSQL)."""
