"""Who wrote this? The taxpayer registry, generic contacts and the ordered matching rules."""
