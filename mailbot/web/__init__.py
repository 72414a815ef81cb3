"""The online desk (`[web] listen`): the complaint form, which files a case through the same
path as a mail (mailbot/entry.py, channel "web"), and the questionnaire page a closing letter
links to (`/questionario/<token>`).

`forms.py` holds the forms and their Italian and English wording, `app.py` the Flask
application (CSRF protection by Flask-WTF, a per-client rate limit by Flask-Limiter, the
attachment cap), `server.py` the waitress server the daemon runs on a thread of its own, or
`mailbot web` in the foreground. The only importers of flask, flask_wtf, wtforms,
flask_limiter, werkzeug and waitress. Nothing here is imported unless the form is served.
"""
