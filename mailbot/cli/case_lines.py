"""`workorders show`'s lines for what the register records beyond the dates (cli/cases.py)."""

from __future__ import annotations

from typing import Any

from mailbot.cli.app import echo


def register_lines(detail: dict[str, Any]) -> None:
    """What the register records beyond the dates: outcome, solution, actions, refunds."""
    charter = detail["charter"]
    echo(f"Kind: {charter['kind']}, channel {charter['channel']}")
    if waiting := charter["protocollo_pending"]:  # [protocol] adapter: not registered yet
        error = waiting["last_error"] and f" ({waiting['attempts']}: {waiting['last_error']})"
        echo(f"protocollo: in attesa{error or ''}")
    elif charter["protocollo"]:
        echo(f"protocollo: {', '.join(charter['protocollo'])}")
    if charter["outcome"]:
        echo(f"Outcome: {charter['outcome']}")
    if charter["solution"]:
        due = f" (by {charter['solution_due']})" if charter["solution_due"] else ""
        echo(f"Solution: {charter['solution']}{due}")
    for action in detail["actions"]:
        verified = f", verified {action['verified_at'][:10]}" if action["verified_at"] else ""
        echo(f"Corrective action {action['id']}: {action['text']}{verified}")
    if cause := charter["missed_term_cause"]:
        echo(f"Missed-term cause: {cause}")
    if charter["minimum_data_missing"]:
        echo("Minimum data: missing (no late-reply indemnity where the profile says so)")
    for refund in detail["refunds"]:
        what = refund["compensation"] or f"{refund['owed_eur']:.2f} EUR"
        echo(
            f"Refund {refund['id']} ({refund['reason']}): {what}, {refund['state']}"
            + (f", pay by {refund['pay_by']}" if refund["state"] == "due" else "")
        )
