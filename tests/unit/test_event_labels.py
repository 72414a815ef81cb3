"""Every event a case's timeline can show has a label, in Italian and English (review finding 6):
the back office's "Cronologia", the case file and the conciliation PDF show `wording.label`,
which falls back to the raw id. The ids are read from the code itself: each `record_event` call
that passes a `work_order_id`, and each `case_event` (always a case's). An id built at run time
(an f-string, a variable) is listed below with the values it can take; a new one fails here
until it is listed, so no event reaches a reader unlabelled without this test saying so."""

from __future__ import annotations

import ast
from pathlib import Path

import mailbot
from mailbot.cases import wording
from mailbot.cases.approval import DECISIONS
from mailbot.ingest.pec import RECEIPTS
from mailbot.replies.office_mail import NOTICES

ROOT = Path(mailbot.__file__).parent
# (module, the id's expression as written) → the ids it can be. `message.{kind}` needs none of
# its own: an event `message.<kind>` reads as its message's kind (wording.MESSAGE_KIND).
BUILT = {
    ("cases/notices.py", 'f"operator_notice.{notice}"'): [f"operator_notice.{n}" for n in NOTICES],
    ("cases/delivery_reports.py", 'f"outbound.{report.verdict}"'): [
        f"outbound.{v}" for v in ("bounce", "delayed", "dsn_success", "feedback_report")
    ],
    ("cases/delivery_reports.py", 'f"pec.{kind}"'): [f"pec.{r}" for r in RECEIPTS],
    ("cases/approving.py", 'f"approval.{key}"'): [
        f"approval.{k}" for k in ("not_yours", "unknown", "decided", "reason")
    ],
    ("cases/approval.py", "decision"): list(DECISIONS),
    ("cases/workorders.py", 'f"work_order.{kind}"'): [],  # case_event itself: its calls are read
}


def _constants() -> dict[str, str]:
    """Every module-level NAME = "string" (and A, B = "x", "y") in the package, by name."""
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                pairs = (
                    zip(target.elts, node.value.elts, strict=False)
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                    else [(target, node.value)]
                )
                for name, value in pairs:
                    if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                        found[name.id] = str(value.value)
    return found


def event_ids() -> tuple[set[str], list[str]]:
    """(the ids of the events recorded on a case, what could not be read)."""
    constants, ids, unread = _constants(), set(), []
    for path in ROOT.rglob("*.py"):
        module = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            keywords = {k.arg for k in node.keywords}
            if name == "case_event" and len(node.args) >= 3:
                arg, prefix = node.args[2], "work_order."
            elif name == "record_event" and len(node.args) >= 2 and "work_order_id" in keywords:
                arg, prefix = node.args[1], ""
            else:
                continue
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ids.add(prefix + arg.value)
            elif isinstance(arg, ast.Name | ast.Attribute) and (
                (key := getattr(arg, "id", getattr(arg, "attr", ""))) in constants
            ):
                ids.add(prefix + constants[key])
            elif (module, written := ast.unparse(arg).replace("'", '"')) in BUILT:
                ids.update(BUILT[module, written])
            elif written != 'f"message.{kind}"':
                unread.append(f"{module}:{node.lineno}: {ast.unparse(arg)}")
    return ids, unread


def test_the_scan_reads_every_event_id_and_finds_the_issue_33_ones():
    ids, unread = event_ids()
    assert unread == [], "an event id built at run time: list its values in BUILT"
    for known in ("work_order.kind", "work_order.reminder", "outbound.sent", "reply_checks.held",
                  "operator_notice.checks", "work_order.confirmation_numbered"):  # fmt: skip
        assert known in ids


def test_every_event_a_case_can_show_has_an_italian_and_an_english_label():
    ids, _ = event_ids()
    for language in ("it", "en"):
        missing = sorted(i for i in ids if wording.label("event", i, language) == i)
        assert missing == [], f"{language}: no label for {missing}"


def test_a_kind_is_shown_in_words():
    assert wording.label("kind", "rettifica_fatturazione", "it") == "rettifica di fatturazione"
    assert wording.label("kind", "richiesta_informazioni", "en") == "request for information"
    assert wording.label("event", "work_order.kind", "it") == "tipo di richiesta cambiato"


def test_a_kind_change_is_detailed_in_words():
    assert wording.detail("work_order.kind", "to", "richiesta_informazioni", "it") == (
        "richiesta di informazioni"
    )
    assert wording.detail("work_order.kind", "previous", "reclamo", "en") == "complaint"
    assert wording.detail("work_order.assigned", "to", "tributi", "it") == "tributi"
