"""The online desk (`[web] listen`): the complaint form, which files a case through the same
path as a mail (mailbot/entry.py, channel "web"), and the questionnaire page a closing letter
links to (`/questionario/<token>`).

`forms.py` holds the forms and their Italian and English wording, `app.py` the Flask
application (CSRF protection by Flask-WTF, the attachment cap), `limits.py` the per-client
limits counted in the database, `clients.py` who the client is behind trusted proxies,
`guards.py` the security headers and single-use submission ids, `challenge.py` the optional
proof of work, `server.py` the waitress server (a process of its own under `mailbot run`, see
runtime/web_process.py, or `mailbot web` in the foreground). The only importers of flask,
flask_wtf, wtforms, werkzeug, waitress and altcha. Nothing here is imported unless the form is
served.
"""
