"""The `[charter.requests]` table: the kinds of written request, the term each kind has, and
how mail is classified, as profiles shipped as data (issue 33, item 1).

- `municipal` (the default): today's behaviour, unchanged: every kind has the office's term
  (or its category's), mail is of its mailbox's `kind`, and a second mail without a thread
  reference opens a new case.
- `arera_water` (ARERA RQSII, 655/2015/R/idr): complaint, request for information and request
  to correct a bill, 30 working days each from receipt; a complaint reaches the right office
  of the operator within 7 working days, another operator within 5, whose answer is relayed
  within 5.
- `arera_waste` (ARERA TQRIF, 15/2022/R/rif): complaint and request for information 30 working
  days, request to correct a bill 60 working days; `scheme` (I to IV, the regulatory scheme the
  operator is in) is recorded for the annual figures; forwarding between the tariff and the
  collection operator 5 + 5 working days.

Under a regulated profile mail to a complaints mailbox may be classified by cue phrases
(cases/kinds.py) and an unthreaded reminder from a case's contact joins its open case
(cases/unthreaded.py). An office's explicit `response_days` and a category's `[[offices.terms]]`
still win over the profile's terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mailbot.config.table import Table
from mailbot.errors import ConfigError

COMPLAINT, INFORMATION, BILL_CORRECTION = (
    "reclamo",
    "richiesta_informazioni",
    "rettifica_fatturazione",
)
# How a term's days are counted: working days (Monday to Friday, holidays out: charter.py) or
# calendar days. "feriali" (Monday to Saturday) is not a value yet: see README.
COUNTS = ("working", "calendar")
SCHEMES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class KindTerm:
    days: int
    count: str = "working"  # one of COUNTS

    @property
    def working(self) -> bool:
        return self.count == "working"


@dataclass(frozen=True)
class Profile:
    name: str
    # kind → its term; a kind not listed has the office's (or its category's) term.
    terms: Mapping[str, KindTerm] = field(default_factory=dict)
    classify: bool = False  # cue phrases may say a mail is not a complaint (cases/kinds.py)
    join_reminders: bool = False  # an unthreaded mail from the contact joins its open case
    schemes: tuple[str, ...] = ()  # the regulatory schemes `scheme` may name (none: no key)
    # Forwarding clocks in working days (cases/forwarding_clock.py), 0: none. Within the
    # operator: to reach the right office; between operators: to forward, then to relay.
    forward_within: int = 0
    forward_between: int = 0
    relay_between: int = 0


PROFILES: Mapping[str, Profile] = {
    "municipal": Profile("municipal"),
    "arera_water": Profile(
        "arera_water",
        terms={
            COMPLAINT: KindTerm(30, "working"),
            INFORMATION: KindTerm(30, "working"),
            BILL_CORRECTION: KindTerm(30, "working"),
        },
        classify=True,
        join_reminders=True,
        forward_within=7,
        forward_between=5,
        relay_between=5,
    ),
    "arera_waste": Profile(
        "arera_waste",
        terms={
            COMPLAINT: KindTerm(30, "working"),
            INFORMATION: KindTerm(30, "working"),
            BILL_CORRECTION: KindTerm(60, "working"),
        },
        classify=True,
        join_reminders=True,
        schemes=SCHEMES,
        forward_between=5,  # the tariff operator and the collection operator
        relay_between=5,
    ),
}


@dataclass(frozen=True)
class RequestSettings:
    profile: str = "municipal"
    scheme: str = ""  # arera_waste: "I" … "IV"; "" otherwise
    classify: bool = False
    join_reminders: bool = False

    @property
    def forwarding(self) -> tuple[int, int, int]:
        """(within the operator, forward between operators, relay between them), working days."""
        p = PROFILES[self.profile]
        return p.forward_within, p.forward_between, p.relay_between

    def term_of(self, kind: str) -> KindTerm | None:
        """The profile's term for `kind`, None when the office's term applies."""
        return PROFILES[self.profile].terms.get(kind)


def read_requests(t: Table) -> RequestSettings:
    name = t.text("profile", "municipal", choices=tuple(PROFILES))
    profile = PROFILES[name]
    scheme = t.text("scheme", "").strip().upper()
    if profile.schemes and not scheme:
        raise ConfigError(
            f"charter.requests.scheme: required with profile = {name!r}: the regulatory scheme, "
            f"one of {', '.join(profile.schemes)}"
        )
    if scheme and not profile.schemes:
        raise ConfigError(
            f'charter.requests.scheme: only with profile = "arera_waste", got {name!r}'
        )
    if scheme and scheme not in profile.schemes:
        raise ConfigError(
            f"charter.requests.scheme: must be one of {', '.join(profile.schemes)}, got {scheme!r}"
        )
    settings = RequestSettings(
        profile=name,
        scheme=scheme,
        classify=t.flag("classify", profile.classify),
        join_reminders=t.flag("join_reminders", profile.join_reminders),
    )
    t.done()
    return settings
