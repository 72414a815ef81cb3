"""Tests of one part with its database (SQLite or PostgreSQL) and no other server."""
