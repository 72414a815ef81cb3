"""Test helpers: the real servers (Dovecot, SMTP, PostgreSQL, rspamd, an OAuth2 token
endpoint), configs and services on a throw-away database, PEC messages signed by a test CA,
the kill and crash harnesses. Fixtures live in tests/conftest.py and use these."""
