"""A municipality for the back office's case tests: three offices (the URP, Tributi,
Ambiente), two desks (Nord, Sud), staff of every role, and cases of each office, desk and
status opened through the pipeline (`populate`). Shared by the unit tests of the lists, the
actions and the authorization, and by the Chromium test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot.models import WorkOrder
from mailbot.services import Services

from support.app import make_process, make_services, write_config

OPERATOR = "op.tributi@comune.example.it"
RESPONSIBLE = "dir.tributi@comune.example.it"
SUPERVISOR = "capo.urp@comune.example.it"
OVERSEER = "vigile.ambiente@comune.example.it"  # a supervisor whose reach is Ambiente only
DESK = "sportello.nord@comune.example.it"
ADMIN = "admin@comune.example.it"
AMBIENTE_OPERATOR = "op.ambiente@comune.example.it"
STAFF = {
    "operator": OPERATOR,
    "responsible": RESPONSIBLE,
    "supervisor": SUPERVISOR,
    "overseer": OVERSEER,
    "desk": DESK,
    "admin": ADMIN,
}

EXTRA = f"""
[backoffice]
public_url = "https://ufficio.comune.example.it"
[[desks]]
id = "nord"
name = "Sportello Nord"
email = "{DESK}"
[[desks]]
id = "sud"
name = "Sportello Sud"
email = "sportello.sud@comune.example.it"
[[offices]]
id = "tributi"
name = "Ufficio Tributi"
email = "tributi@comune.example.it"
response_days = 30
[[offices]]
id = "ambiente"
name = "Ufficio Ambiente"
email = "ambiente@comune.example.it"
response_days = 30
[[staff]]
email = "{OPERATOR}"
name = "Paolo Tributi"
roles = ["operator"]
offices = ["tributi"]
[[staff]]
email = "{AMBIENTE_OPERATOR}"
name = "Sara Ambiente"
roles = ["operator"]
offices = ["ambiente"]
[[staff]]
email = "{RESPONSIBLE}"
name = "Dott.ssa Neri"
roles = ["responsible"]
offices = ["tributi"]
[[staff]]
email = "{SUPERVISOR}"
name = "Carla Coordinamento"
roles = ["supervisor"]
[[staff]]
email = "{OVERSEER}"
name = "Vigilanza Ambiente"
roles = ["supervisor"]
oversees = ["ambiente"]
[[staff]]
email = "{ADMIN}"
name = "Amministrazione"
roles = ["admin"]
"""

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    office: str
    desk: str
    status: str
    late: bool = False


# The cases `populate` opens, numbered 2026/000001… in this order.
CASES = (
    Spec("tributi", "", "open"),
    Spec("tributi", "", "open", late=True),
    Spec("tributi", "", "suspended"),
    Spec("tributi", "", "closed"),
    Spec("ambiente", "", "open"),
    Spec("ambiente", "", "closed"),
    Spec("tributi", "nord", "open"),
    Spec("ambiente", "sud", "open"),
    Spec("ambiente", "sud", "closed"),
)


def number(n: int) -> str:
    return f"2026/{n:06d}"


def slug(n: int) -> str:
    return f"2026-{n:06d}"


def make_office_services(
    tmp_path: Path, *, smtp_port: int = 25, transport: str = "smtp"
) -> Services:
    (tmp_path / "maildir").mkdir(exist_ok=True)
    path = write_config(tmp_path / "mailbot.toml", smtp_port=smtp_port, transport=transport)
    path.write_text(path.read_text() + EXTRA)
    return make_services(path)


def citizen_mail(n: int, subject: str, *, attachment: bool = True) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Cittadino Numero{n} <cittadino{n}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<reclamo-{n}@example.net>"
    msg.set_content(f"Reclamo numero {n}: la strada {n} è piena di buche.")
    if attachment:
        msg.add_attachment(b"%PDF-1.4 foto " + str(n).encode(), maintype="application",
                           subtype="pdf", filename=f"foto{n}.pdf")  # fmt: skip
    return msg.as_bytes()


def populate(services: Services, cases: tuple[Spec, ...] = CASES) -> list[str]:
    """Opens `cases` through the pipeline, then places each in its office, desk and status."""
    process = make_process(services)
    for n, _ in enumerate(cases, start=1):
        process(citizen_mail(n, f"Reclamo {n} via Roma"), RECEIVED + timedelta(minutes=n))
    with Session(services.engine) as session:
        for n, spec in enumerate(cases, start=1):
            case = session.exec(select(WorkOrder).where(WorkOrder.number == number(n))).one()
            place(case, spec)
            session.add(case)
        session.commit()
    return [number(n) for n in range(1, len(cases) + 1)]


def place(case: WorkOrder, spec: Spec) -> None:
    case.office, case.desk, case.status = spec.office, spec.desk, spec.status
    if spec.status == "closed":
        case.closed_at = RECEIVED + timedelta(days=3)
    if spec.status == "suspended":
        case.suspended_at = RECEIVED + timedelta(days=1)
    if spec.late:
        case.due_at = RECEIVED + timedelta(days=5)


def case(services: Services, n: int) -> Any:
    with Session(services.engine) as session:
        return session.exec(select(WorkOrder).where(WorkOrder.number == number(n))).one()
