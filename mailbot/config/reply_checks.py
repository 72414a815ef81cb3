"""The `[charter.reply_checks]` table: whether a reasoned reply is checked for the elements a
regulator requires before it leaves (cases/reply_checks.py; issue 33, item 5).

`mode = "auto"` (the default) checks when the service is regulated, which is read from the
profiles: an ARERA request profile (`[charter.requests] profile = "arera_water"` or
`"arera_waste"`) or an ARERA indemnity profile (`[charter.indemnity] profile = "arera_…"`);
either one is enough. "on" checks whatever the profiles, "off" never. `kinds`: the request
kinds whose replies are checked (work_order.kind; ARERA's minimum content is the
complaint's, "reclamo"), by their ids or by the short words `#tipo` takes ("informazioni",
"rettifica", "rimborso"), read as the ids; an unknown kind is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config.defaults import SUBMISSION_KINDS
from mailbot.config.table import Table
from mailbot.errors import ConfigError

MODES = ("auto", "on", "off")
# `#tipo`'s short words → the kinds' ids (the same as cases/register.py's KIND_ALIASES).
SHORT_KINDS = {
    "rimborso": "richiesta_rimborso",
    "informazioni": "richiesta_informazioni",
    "rettifica": "rettifica_fatturazione",
}
REGULATED_PREFIX = "arera"  # a request or indemnity profile of this prefix: a regulated service


@dataclass(frozen=True)
class ReplyChecksSettings:
    mode: str = "auto"
    kinds: tuple[str, ...] = ("reclamo",)

    def active(self, indemnity_profile: str, requests_profile: str = "municipal") -> bool:
        """Whether replies are checked under these indemnity and request profiles."""
        if self.mode == "auto":
            return any(
                p.startswith(REGULATED_PREFIX) for p in (indemnity_profile, requests_profile)
            )
        return self.mode == "on"


def read_reply_checks(t: Table) -> ReplyChecksSettings:
    mode = t.text("mode", "auto", MODES)
    kinds = ReplyChecksSettings.kinds
    if "kinds" in t.data:
        kinds = tuple(dict.fromkeys(_kind(k) for k in t.str_list("kinds") if k.strip()))
        if not kinds:
            raise ConfigError(
                'charter.reply_checks.kinds: name at least one kind (or mode = "off")'
            )
    t.done()
    return ReplyChecksSettings(mode=mode, kinds=kinds)


def _kind(word: str) -> str:
    kind = word.strip().lower()
    kind = SHORT_KINDS.get(kind, kind)
    if kind not in SUBMISSION_KINDS:
        known = ", ".join((*SUBMISSION_KINDS, *SHORT_KINDS))
        raise ConfigError(f"charter.reply_checks.kinds: {word!r} is not a kind (one of {known})")
    return kind
