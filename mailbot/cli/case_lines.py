"""`workorders show`'s lines for what the register records beyond the dates, and the forwarding
clocks of a regulated profile (cli/cases.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailbot.cli.app import echo

if TYPE_CHECKING:
    from sqlmodel import Session

    from mailbot.config import Settings


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
    for leg in detail.get("forwarding", []):
        where = "office" if leg["what"] == "within" else "operator"
        late = " LATE" if leg["late"] else ""
        echo(
            f"Forwarded to {where} {leg['to']} on {leg['on']}: working day "
            f"{leg['working_days']} of {leg['limit']}{late}"
        )
        if relay := leg.get("relay"):
            state = f"relayed {relay['relayed_on']}" if relay["relayed_on"] else "not relayed yet"
            late = " LATE" if relay["late"] else ""
            echo(
                f"  answered {relay['answered_on']}, {state}: working day "
                f"{relay['working_days']} of {relay['limit']}{late}"
            )


def forwarding_clocks(session: Session, settings: Settings, number: str) -> list[dict[str, Any]]:
    """The case's forwarding clocks ([charter.requests] profile; none for municipal)."""
    from mailbot import charter
    from mailbot.cases import forwarding_clock, workorders

    calendar = charter.Calendar(
        settings.charter.local_holidays, settings.charter.saturday_is_working_day
    )
    clock = charter.Clock(calendar, settings.timezone)
    work_order = workorders.by_number(session, number)
    return forwarding_clock.clocks(session, work_order, settings.charter.requests, clock)
