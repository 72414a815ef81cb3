"""Every message kind rendered in every language with made-up values (a citizen "Maria Rossi",
case 2026/000001): `mailbot check` shows a broken or mistyped customised template here, not on
the first citizen's mail. Sample data lives here, not in the composer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailbot.config import LANGUAGES
from mailbot.errors import MailbotError
from mailbot.replies.compose import CITIZEN_KINDS, OFFICE_REPORT_KINDS, Composer
from mailbot.replies.render import Composed
from mailbot.types import Address


def template_failures(composer: Composer) -> list[str]:
    """Render every message kind in every language with sample values: a broken (or
    customised and mistyped) template shows here, not on the first citizen's mail."""

    failures: list[str] = []
    for language in LANGUAGES:
        for kind in (
            "confirmation",
            "notification",
            "letter_ready",
            "relay",
            "operator_notice",
            *CITIZEN_KINDS,
            *OFFICE_REPORT_KINDS,
        ):
            try:
                _sample(composer, kind, language)
            except (MailbotError, TypeError, KeyError, ValueError) as exc:
                failures.append(f"{language}/{kind}: {exc}")
    return failures


def _sample(composer: Composer, kind: str, language: str) -> Composed:
    now = datetime.now(UTC)
    office = next(iter(composer.settings.offices.values()))
    citizen = Address("Maria Rossi", "maria.rossi@example.it")
    common: dict[str, Any] = {"number": "2026/000001", "language": language}
    if kind == "confirmation":
        return composer.confirmation(
            **common,
            citizen=citizen,
            subject="Prova",
            received_at=now,
            due_at=now,
            office=office,
            reply_to=citizen.email,
            in_reply_to=None,
            references=(),
            refused=[("a.exe", "type")],
            oversized=True,
            channel="email",
        )
    if kind in ("notification", "letter_ready"):
        values: dict[str, Any] = {
            "contact_name": citizen.name,
            "contact_email": citizen.email,
            "contact_reachable": True,
            "contact_phone": "0471 123456",
            "postal_address": "Via Roma 1, 00100 Roma",
            "channel_text": "e-mail",
            "codice_fiscale": "RSSMRA85T10A562S",
            "registry_name": "Rossi Mario",
            "match_rule": "registry_address",
            "match_rule_text": "indirizzo registrato in anagrafe",
            "match_state": "unverified",
            "candidates": [],
            "candidate_names": ["Rossi Maria (RSS**********62S)"],
            "subject": "Prova",
            "due_at": now,
            "term_passed": True,
            "status_text": "open",
            "received_at": now,
            "body": "Testo",
            "body_html": "",
            "sender_alert": "dmarc=fail (p=reject) at mx.example.it",
            "other_from": ["altro@example.it"],
            "name_address": "sindaco@comune.example.it",
            "days_left": 3,
            "term_days": 30,
            "term_working": True,
            "extension_days": 15,
            "suspended_at": None,
            "handover": {
                "by": "Mario Rossi",
                "at": now,
                "reason": "Motivo",
                "note": "Nota",
                "from_office": "Ufficio Tributi",
            },
            "left_out": [{"filename": "foto.jpg", "size_mb": 30}],
            "max_mb": 10,
            "max_message_mb": 25,
            "reply_template": True,  # a regulated complaint's: the reply template included
        }
        return composer.to_office(
            kind, **common, office=office, values=values, reply_to=citizen.email
        )
    if kind in OFFICE_REPORT_KINDS:
        item = {"number": "2026/000001", "subject": "Prova", "due_at": now, "days_left": 2}
        return composer.office_report(
            kind,
            language=language,
            office=office,
            to=Address(office.name, office.email),
            values={
                "due_soon": [item],
                "overdue": [{**item, "days_left": -3}],
                "day": now,
                "spam_held": 3,
                "cause_asked": [
                    {**item, "replied_at": now, "case_url": "https://reclami.example.it/x"}
                ],
            },
        )
    if kind in CITIZEN_KINDS:
        return composer.to_citizen(
            kind,
            **common,
            citizen=citizen,
            subject="Prova",
            office=office,
            values={
                "due_at": now,
                "days": 10,
                "reason": "Motivo",
                "survey": True,
                "questions": ("Domanda uno?", "Domanda due?"),
                "survey_url": "https://reclami.example.it/questionario/x",
                "reopen_days": 30,
                "refunds": [
                    {"reason": "late", "amount": 20.0, "compensation": "", "pay_by": now},
                    {"reason": "founded", "amount": 0.0, "compensation": "Dono", "pay_by": now},
                ],
            },
            reply_to=citizen.email,
            in_reply_to=None,
            references=(),
            channel="email",
        )
    if kind == "relay":
        return composer.relay(
            **common,
            citizen=citizen,
            subject="Prova",
            body="Risposta",
            operator_name="Mario Rossi",
            office=office,
            reply_to=citizen.email,
            in_reply_to=None,
            references=(),
        )
    return composer.operator_notice(
        **common,
        operator=citizen,
        subject="Prova",
        errors=["comando sconosciuto"],
        reply_to=citizen.email,
        in_reply_to=None,
    )
