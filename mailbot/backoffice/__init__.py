"""The back office (`[backoffice] listen`): the staff's pages, beside the public desk and
served the same way (waitress, Flask; `mailbot run` and `mailbot backoffice`). Pages rendered
on the server, no JavaScript framework.

- `app.py` builds the application: CSRF, security headers, the member of each request;
- `context.py` what every view shares: the member, the language, the page renderer;
- `sessions.py` the signed-in sessions, in the database (every instance knows them);
- `signin.py` sign-in by a one-time link mailed to the member, `oidc.py` single sign-on
  through the institution's OpenID Connect provider (Authlib);
- `cases.py` the lists and the case page with its actions, `reports.py` the register and
  the reports; `words*.py` their Italian and English wording.

Every query goes through cases/access.py (who sees which case, who may do what); every action
is the function the mail commands and the CLI call (cases/operator.py and its siblings).
"""
