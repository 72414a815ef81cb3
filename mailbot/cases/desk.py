"""Placeholder for issue 29's desk and approval flow (filled by its part C)."""
