"""Tests against real servers on 127.0.0.1 (Dovecot, SMTP, rspamd, an OAuth2 endpoint), the
daemon as a subprocess, the demo script and a browser."""
