"""The institution's people and what each role may do: one table, read by the mail flows,
the command line and the web alike (DESIGN.md "rules as data", "authorization in one place").

`ROLES` maps a role to its permissions; `PERMISSIONS` says what each permission means. A
`Member` is one person (or a shared mailbox such as the URP's) with addresses, roles and the
offices or desks the roles apply to; a `Directory` answers "who is this address?" and "what
may they do on this case?". Where the members come from (the configuration's `[[staff]]`,
today's `operators` lists, the database) is `config` and `cases/staff.py`'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# permission → (Italian, English): what it lets a member do.
PERMISSIONS: Mapping[str, tuple[str, str]] = {
    "case.see.office": ("vede le pratiche dei propri uffici", "sees the cases of their offices"),
    "case.see.all": ("vede tutte le pratiche", "sees every case"),
    "case.see.desk": (
        "vede le pratiche aperte dal proprio sportello",
        "sees the cases their desk opened",
    ),
    "case.see.archive": (
        "consulta l'archivio delle pratiche chiuse",
        "consults the archive of closed cases",
    ),
    "case.reply": (
        "risponde al cittadino per il proprio ufficio",
        "answers the citizen for their office",
    ),
    "case.relay": (
        "resta l'interfaccia del cittadino: inoltra o approva la risposta dell'ufficio",
        "remains the citizen's interface: relays or approves the office's answer",
    ),
    "case.approve": (
        "approva le risposte degli operatori prima dell'invio",
        "approves operators' replies before they leave",
    ),
    "case.sign": ("firma per l'ufficio", "signs for the office"),
    "case.note": ("scrive note interne", "writes internal notes"),
    "case.assign": ("assegna le pratiche a un ufficio", "assigns cases to an office"),
    "case.classify": (
        "imposta tipo, categoria e protocollo",
        "sets kind, category and protocol number",
    ),
    "case.open": (
        "apre pratiche (sportello, posta, telefono)",
        "opens cases (counter, post, phone)",
    ),
    "case.copies": (
        "riceve copia delle lettere al cittadino",
        "gets a copy of the letters to the citizen",
    ),
    "reports.all": ("registro e relazioni di tutti", "register and reports of everyone"),
    "reports.desk": (
        "registro e relazioni della propria clientela",
        "register and reports of their own clientele",
    ),
    "staff.manage": ("gestisce il personale e i ruoli", "manages staff and roles"),
}

_OPERATOR = frozenset({"case.see.office", "case.reply", "case.note", "case.classify", "case.open"})
ROLES: Mapping[str, frozenset[str]] = {
    "operator": _OPERATOR,
    # The Dirigente: an operator who signs for the office and approves replies when the office
    # wants them approved.
    "responsible": _OPERATOR | {"case.approve", "case.sign", "case.assign"},
    # The URP, a network's centre, a chamber's URE: sees and assigns every case, gets the
    # copies; answers a citizen only where also an operator.
    "supervisor": frozenset(
        {
            "case.see.all",
            "case.see.archive",
            "case.note",
            "case.assign",
            "case.classify",
            "case.copies",
            "reports.all",
        }
    ),
    # A desk (sportello) opens cases and remains the citizen's interface for them.
    "desk": frozenset(
        {
            "case.see.desk",
            "case.see.archive",
            "case.relay",
            "case.note",
            "case.open",
            "reports.desk",
        }
    ),
    "admin": frozenset(PERMISSIONS),
}
# What each role's holder names in `offices` (the offices it applies to) or `desks`.
SCOPE = {"operator": "offices", "responsible": "offices", "desk": "desks"}
# The operator commands (replies/commands.py) a permission lets a member give by mail; the
# office's operators and responsible give them all.
COMMAND_PERMISSIONS: Mapping[str, str] = {
    "nota": "case.note",
    "assegna": "case.assign",
    "categoria": "case.classify",
    "tipo": "case.classify",
    "protocollo": "case.classify",
}


@dataclass(frozen=True)
class Member:
    """A person, or a shared mailbox, on the institution's side."""

    addresses: tuple[str, ...]
    name: str = ""
    roles: frozenset[str] = frozenset()
    offices: tuple[str, ...] = ()  # where operator/responsible apply; a supervisor's reach
    # A supervisor's reach when it differs from `offices` (an office's address that is another
    # office's copy_to: operator of its own, supervisor of the other); empty: `offices`.
    reach: tuple[str, ...] = ()
    desks: tuple[str, ...] = ()  # where desk applies
    source: str = "config"  # config | operators | database

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset().union(*(ROLES[r] for r in self.roles if r in ROLES))

    def may(self, permission: str) -> bool:
        return permission in self.permissions

    def roles_on(self, office: str, desk: str = "") -> frozenset[str]:
        """The roles that apply to a case of `office` (entered by `desk`): an operator's where
        it is an operator, a supervisor's within its reach, a desk's on its desk's cases."""
        return frozenset(
            role
            for role in self.roles
            if role == "admin"
            or (role in ("operator", "responsible") and office in self.offices)
            or (role == "supervisor" and self._reaches(office))
            or (role == "desk" and bool(desk) and desk in self.desks)
        )

    def may_on(self, permission: str, office: str, desk: str = "") -> bool:
        """Whether the member may do `permission` on a case of `office` (entered by `desk`)."""
        return any(permission in ROLES[role] for role in self.roles_on(office, desk))

    def speaks_for(self, office: str) -> bool:
        """An operator or responsible of `office` (an admin of every office)."""
        if "admin" in self.roles:
            return True
        return office in self.offices and bool({"operator", "responsible"} & self.roles)

    def at_desk(self, desk: str) -> bool:
        return bool(desk) and "desk" in self.roles and desk in self.desks

    def oversees(self, office: str) -> bool:
        """A supervisor whose reach covers `office` (none named: every office)."""
        if "admin" in self.roles:
            return True
        return "supervisor" in self.roles and self._reaches(office)

    def _reaches(self, office: str) -> bool:
        scope = self.reach or self.offices
        return not scope or office in scope


def refused_commands(
    member: Member | None, names: Iterable[str], office: str, desk: str = ""
) -> list[str]:
    """The commands (replies/commands.py names) `member` may not give on a case of `office`
    when not speaking for it: #nota always passes, the rest as COMMAND_PERMISSIONS says."""
    return [
        name
        for name in names
        if name != "nota"
        and (
            member is None
            or name not in COMMAND_PERMISSIONS
            or not member.may_on(COMMAND_PERMISSIONS[name], office, desk)
        )
    ]


@dataclass(frozen=True)
class Directory:
    """Everyone on the institution's side; an address belongs to one member at most (the
    first that names it), compared in lower case."""

    members: tuple[Member, ...] = ()
    _by_address: dict[str, Member] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for member in self.members:
            for address in member.addresses:
                self._by_address.setdefault(address.lower(), member)

    def member(self, address: str) -> Member | None:
        return self._by_address.get(address.strip().lower())

    def is_staff(self, address: str) -> bool:
        return address.strip().lower() in self._by_address

    def addresses(self) -> frozenset[str]:
        return frozenset(self._by_address)

    def with_members(self, extra: Iterable[Member]) -> Directory:
        return Directory((*self.members, *extra))

    def of_office(self, office: str, role: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if role in m.roles and office in m.offices)

    def of_desk(self, desk: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.at_desk(desk))

    def supervisors_of(self, office: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if "supervisor" in m.roles and m.oversees(office))


def describe(language: str = "en") -> list[tuple[str, list[str]]]:
    """(role, [what it may do]) for every role, in `language`: `mailbot staff roles`."""
    index = 0 if language == "it" else 1
    return [
        (role, [PERMISSIONS[p][index] for p in PERMISSIONS if p in granted])
        for role, granted in ROLES.items()
    ]
