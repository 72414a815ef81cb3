"""The data of bench/backoffice.py: a configuration of eight offices with an operator each, a
supervisor and the back office, and N realistic cases written by executemany (contacts, cases,
conversation messages, events), far faster than the pipeline would file them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

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
