"""Mail going out: threading identifiers, composition from templates, the outbox and the sender."""
