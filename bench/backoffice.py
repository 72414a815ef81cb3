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
from pathlib import Path
from typing import Any

from backoffice_data import OPERATOR, SUPERVISOR, config_extra, fill

from common import quiet_logs, use_database


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
