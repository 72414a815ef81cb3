"""Minimal Django project hosting django-helpdesk for the benchmark (the PEER).

Everything machine-specific comes from the harness environment:
BENCH_WORKDIR (SQLite DB + media), BENCH_SMTP_HOST/PORT (outgoing mail to the sink).
"""

import os
from pathlib import Path

WORK = Path(os.environ.get("BENCH_WORKDIR", "."))
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "helpdesk_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORK / "helpdesk.sqlite3")}
}
USE_TZ = True
TIME_ZONE = "Europe/Rome"
LANGUAGE_CODE = "it"
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = str(WORK / "media")
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGIN_URL = "/login/"
# outgoing mail (new-ticket notifications to the submitter) goes to the bench SMTP sink
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("BENCH_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
DEFAULT_FROM_EMAIL = "protocollo@comune.example.it"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
HELPDESK_ENABLE_ATTACHMENTS = True  # default; attachments are stored under MEDIA_ROOT
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "WARNING"},
}
# without the optional pinax-teams app, teams mode must be off or migrations fail
# (helpdesk.0028_kbitem_team depends on pinax_teams)
HELPDESK_TEAMS_MODE_ENABLED = False
