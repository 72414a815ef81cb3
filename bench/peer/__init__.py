"""The pieces of bench/paired.py: the peer (django-helpdesk, its venv and Django project), the
corpus generator, the counting SMTP sink and the three targets."""
