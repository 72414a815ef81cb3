"""Getting mail in: sources (IMAP, Maildir), the ledger and cursors, parsing, classification."""
