"""Shared infrastructure used by every domain: database, errors, ids, auth, pagination, jobs glue."""
