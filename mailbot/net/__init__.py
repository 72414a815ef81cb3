"""Network helpers shared by the IMAP and SMTP clients and the OAuth2 token fetch."""
