"""mailbot: complaint-intake daemon."""
