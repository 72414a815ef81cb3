"""The complaint form as a browser submits it: the hidden fields of a page the test fetched
(the CSRF token and the form's signed submission id), plus what the visitor typed."""

from __future__ import annotations

import re


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page)
    assert found is not None, name
    return found.group(1)


def form_of(page: str, **typed: str) -> dict[str, str]:
    """What posting the form shown in `page` sends: its hidden fields and `typed`."""
    return {
        "csrf_token": hidden(page, "csrf_token"),
        "submission": hidden(page, "submission"),
        **typed,
    }
