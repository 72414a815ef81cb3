"""The back office with a realistic load: a database of N cases (default 10,000: eight offices,
open, suspended, late and closed ones over fourteen months, 2-6 messages and 3 events each,
~6,000 citizens, some with several cases), written by bulk inserts rather than the pipeline,
then each page requested R times through Flask's test client, signed in as a supervisor (sees
everything) and as an operator (one office). Prints p50/p95/max per page and role, with the
SQL statements each request ran.

    uv run python bench/backoffice.py --cases 10000 --requests 30 [--database postgresql]

What it times:
- the list query the lists are built on (cases/access.py `visible`: first page by deadline, a
  filtered page, a search by name, number or subject) and the case's data (`case_for` +
  cases/views.py `show_work_order`), in the process, without HTTP;
- the register page `/registro` (the year's register, refunds, corrective actions);
- the list page `/` (first page, `?stato=open&ufficio=…`, `?cerca=…`) and the case page
  `/pratiche/<n>` when the application has them (backoffice/cases.py), and the archive
  `/archivio`; --list-filter and --list-search change their query strings.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import quiet_logs, use_database

OFFICES = ("urp", "tributi", "ambiente", "anagrafe", "lavori", "polizia", "scuola", "sociali")
SUPERVISOR = "urp.centro@comune.example.it"
OPERATOR = "op.tributi@comune.example.it"
SURNAMES = "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno".split()
NAMES = "Mario Giuseppe Luca Anna Maria Giulia Francesca Laura Sara Chiara Elena".split()
WORDS = "buca strada lampione rifiuti raccolta acqua bolletta ritardo tributi verde".split()


def config_extra() -> str:
    offices = "".join(
        f'[[offices]]\nid = "{o}"\nname = "Ufficio {o.title()}"\nemail = "{o}@comune.example.it"\n'
        f'operators = ["op.{o}@comune.example.it"]\nresponse_days = 30\n'
        for o in OFFICES[1:]
    )
    return (
        f'[[staff]]\nemail = "{SUPERVISOR}"\nname = "URP centrale"\nroles = ["supervisor"]\n'
        f'{offices}[backoffice]\nlisten = "127.0.0.1:8026"\n'
    )


def fill(engine: Any, cases: int, seed: int) -> None:
    """Contacts, cases, messages and events, by executemany in batches."""
    import sqlalchemy as sa
    from sqlalchemy import insert

    from mailbot.models import Contact, ConversationMessage, Event, WorkOrder

    rng = random.Random(seed)
    now = datetime.now(UTC)
    people = max(1, cases * 6 // 10)
    contacts = [
        {
            "id": i + 1,
            "email": f"cittadino{i}@example.net",
            "name": f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}",
            "phone": "",
            "pec_verified": False,
            "created_at": now,
        }
        for i in range(people)
    ]
    orders, messages, events = [], [], []
    counters: dict[int, int] = {}
    for n in range(cases):
        received = now - timedelta(minutes=rng.randint(0, 420 * 24 * 60))
        counters[received.year] = counters.get(received.year, 0) + 1
        age = (now - received).days
        due = received + timedelta(days=30)
        roll = rng.random()
        if (age > 45 and roll < 0.9) or (age > 20 and roll < 0.4):
            status = "closed"
        elif roll > 0.95:
            status = "suspended"
        else:
            status = "open"  # late when past its due day
        answered = received + timedelta(days=rng.randint(1, 40)) if status == "closed" else None
        orders.append(
            {
                "id": n + 1,
                "number": f"{received.year}/{counters[received.year]:06d}",
                "status": status,
                "office": OFFICES[min(len(OFFICES) - 1, int(rng.expovariate(0.5)))],
                "mailbox": "suggerimenti",
                "subject": f"Segnalazione {' '.join(rng.choices(WORDS, k=4))}",
                "contact_id": rng.randint(1, people),
                "match_rule": "generic",
                "match_confidence": 0.0,
                "match_state": "generic",
                "match_candidates": "",
                "contact_verified": False,
                "language": "it",
                "received_at": received,
                "opened_at": received,
                "due_at": due,
                "reply_token": f"{n:032x}",
                "reasoned_reply_at": answered,
                "closed_at": answered,
                "suspended_at": received + timedelta(days=3) if status == "suspended" else None,
                "category": "",
                "term_days": 30,
                "term_working": False,
                "extension_days": 0,
                "pauses": "[]",
                "refund_eur": 0.0,
                "protocollo": "",
                "sender_alert": "",
                "kind": "reclamo",
                "channel": "email",
                "solution": "",
                "void_reason": "",
                "voided_by": "",
                "postal_address": "",
                "desk": "",
            }
        )
        body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(3, 30)))
        for m in range(rng.randint(2, 6)):
            messages.append(
                {
                    "work_order_id": n + 1,
                    "direction": "in" if m % 2 == 0 else "out",
                    "kind": (
                        "citizen",
                        "confirmation",
                        "notification",
                        "relay",
                        "citizen_followup",
                        "relay",
                    )[m],
                    "from_address": f"cittadino{n}@example.net",
                    "to_addresses": "suggerimenti@comune.example.it",
                    "date": received + timedelta(hours=m),
                    "subject": orders[-1]["subject"],
                    "body_text": body,
                    "body_html": "",
                    "author": "",
                    "message_id": f"<bench-{n}-{m}@example.net>",
                }
            )
        for kind in ("work_order.opened", "work_order.notified", "work_order.viewed"):
            events.append(
                {
                    "at": received,
                    "kind": kind,
                    "actor": "mailbot",
                    "work_order_id": n + 1,
                    "data": "{}",
                }
            )
    with engine.begin() as connection:
        for table, rows in (
            (Contact, contacts),
            (WorkOrder, orders),
            (ConversationMessage, messages),
            (Event, events),
        ):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":  # the ids given: move the sequences past them
            for name in ("contact", "work_order"):
                connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )


def timed(label: str, role: str, runs: int, call: Callable[[], Any], statements: list[int]) -> None:
    times, counts = [], []
    for _ in range(runs):
        before = statements[0]
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
        counts.append(statements[0] - before)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(
        f"{label:<44} {role:<10} {runs:>4} {statistics.median(times):>9.1f} {p95:>9.1f}"
        f" {times[-1]:>9.1f} {statistics.median(counts):>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30, help="Requests per page and role.")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--list-filter", default="stato=open&ufficio=tributi")
    parser.add_argument("--list-search", default="cerca=Rossi")
    args = parser.parse_args()
    use_database(args.database)
    quiet_logs()

    import sqlalchemy as sa
    from sqlmodel import Session, col, select

    from mailbot.cases import access, views
    from mailbot.models import Contact, WorkOrder

    from support.app import make_services, write_config
    from support.backoffice import office_client, sign_in

    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-office-"))
    try:
        (work / "maildir").mkdir()
        services = make_services(write_config(work / "mailbot.toml", extra=config_extra()))
        started = time.perf_counter()
        fill(services.engine, args.cases, args.seed)
        print(
            f"database ({args.database}): {args.cases} cases written in {time.perf_counter() - started:.1f} s"
        )
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        sa.event.listen(services.engine, "before_cursor_execute", count)
        from mailbot.cases.staff import directory as staff_directory

        with Session(services.engine) as session:
            people = staff_directory(services, session)
        members = {"supervisor": people.member(SUPERVISOR), "operator": people.member(OPERATOR)}
        assert all(members.values())
        rng = random.Random(args.seed)
        with Session(services.engine) as session:
            numbers = {
                role: [
                    n for n in session.exec(select(WorkOrder.number).where(access.visible(member)))
                ]
                for role, member in members.items()
            }
        print(
            f"visible cases: supervisor {len(numbers['supervisor'])}, operator {len(numbers['operator'])}"
        )

        def listing(member: Any, *conditions: Any) -> Callable[[], Any]:
            def run() -> Any:
                with Session(services.engine) as session:
                    query = (
                        select(WorkOrder, Contact)
                        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
                        .where(access.visible(member), *conditions)
                    )
                    total = session.exec(
                        select(sa.func.count()).select_from(query.subquery())
                    ).one()
                    page = list(session.exec(query.order_by(col(WorkOrder.due_at)).limit(50)))
                    return total, page

            return run

        def case_data(member: Any, role: str) -> Callable[[], Any]:
            def run() -> Any:
                number = rng.choice(numbers[role])
                with Session(services.engine) as session:
                    assert access.case_for(session, member, number) is not None
                    return views.show_work_order(session, number, services.settings.timezone)

            return run

        client_for = {}
        for role, address in (("supervisor", SUPERVISOR), ("operator", OPERATOR)):
            client_for[role] = office_client(services)
            sign_in(client_for[role], services, address)
        routes = {rule.rule for rule in client_for["supervisor"].application.url_map.iter_rules()}

        def page(role: str, path: Callable[[], str], status: int = 200) -> Callable[[], Any]:
            def run() -> Any:
                answer = client_for[role].get(path())
                assert answer.status_code == status, (path(), answer.status_code)
                return answer

            return run

        search = sa.or_(
            col(Contact.name).ilike("%rossi%"),
            col(WorkOrder.number).ilike("%rossi%"),
            col(WorkOrder.subject).ilike("%rossi%"),
        )
        print(
            f"\n{'page':<44} {'role':<10} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'queries':>8}"
        )
        for role, member in members.items():
            runs = args.requests
            timed(
                "list query, first page (access.visible)",
                role,
                runs,
                listing(member, WorkOrder.status != "closed"),
                statements,
            )
            timed(
                "list query, open + office tributi",
                role,
                runs,
                listing(member, WorkOrder.status == "open", WorkOrder.office == "tributi"),
                statements,
            )
            timed("list query, search 'rossi'", role, runs, listing(member, search), statements)
            timed(
                "case data (case_for + show_work_order)",
                role,
                runs,
                case_data(member, role),
                statements,
            )
            if "/" in routes:
                timed("GET / (list page)", role, runs, page(role, lambda: "/"), statements)
                timed(
                    f"GET /?{args.list_filter}",
                    role,
                    runs,
                    page(role, lambda: f"/?{args.list_filter}"),
                    statements,
                )
                timed(
                    f"GET /?{args.list_search}",
                    role,
                    runs,
                    page(role, lambda: f"/?{args.list_search}"),
                    statements,
                )
            if "/archivio" in routes:
                timed(
                    "GET /archivio (closed cases)",
                    role,
                    runs,
                    page(role, lambda: "/archivio"),
                    statements,
                )
            if "/pratiche/<slug>" in routes:
                timed(
                    "GET /pratiche/<n> (case page)",
                    role,
                    runs,
                    page(
                        role, lambda r=role: "/pratiche/" + rng.choice(numbers[r]).replace("/", "-")
                    ),
                    statements,
                )
        timed(
            "GET /registro (this year's register)",
            "supervisor",
            max(3, args.requests // 5),
            page("supervisor", lambda: "/registro"),
            statements,
        )
        timed(
            "GET /registro.csv",
            "supervisor",
            max(3, args.requests // 5),
            page("supervisor", lambda: "/registro.csv"),
            statements,
        )
        timed(
            "GET /registro (403)",
            "operator",
            args.requests,
            page("operator", lambda: "/registro", 403),
            statements,
        )
        missing = [
            name
            for name, rule in (("list page", "/"), ("case page", "/pratiche/<slug>"))
            if rule not in routes
        ]
        if missing:
            print(f"\nnot yet in this application (backoffice/cases.py): {', '.join(missing)}")
        services.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
