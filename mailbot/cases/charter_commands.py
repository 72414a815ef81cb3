"""The commands of an operator's message that act on the case's charter record: #categoria
(and so its term), #protocollo, #proroga (whose notice tells the citizen why and until when),
#tipo, #esito, #soluzione, #azione, #causa (why the term was missed) and #incompleto (the
complaint lacks the minimum data; cases/indemnity.py); and what is wrong with an operator's
message (any of its commands), before anything is done.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.cases import indemnity, register, workorders
from mailbot.cases.notices import tell_citizen
from mailbot.models import WorkOrder
from mailbot.replies import commands
from mailbot.services import Services


def problems(
    services: Services, parsed: commands.Parsed, work_order: WorkOrder | None = None
) -> list[commands.Problem]:
    """Why an operator's message cannot be carried out, every command's check (none: it can)."""
    errors = list(parsed.errors)
    assign_to = parsed.has("assegna")
    office_id = commands.assignment(assign_to.arg)[0] if assign_to else ""
    if assign_to and office_id not in services.settings.offices:
        errors.append(commands.Problem("no_office", (office_id,)))
    elif assign_to and work_order is not None and office_id == work_order.office:
        errors.append(commands.Problem("same_office", (office_id,)))
    category = parsed.has("categoria")
    if category and services.settings.charter.category(category.arg.lower()) is None:
        known = ", ".join(c.id for c in services.settings.charter.categories)
        errors.append(commands.Problem("no_category", (category.arg, known)))
    extension = parsed.has("proroga")
    if extension and commands.extension(extension.arg) is None:
        errors.append(commands.Problem("extension"))
    kind = parsed.has("tipo")
    if kind and register.kind_of(kind.arg) is None:
        errors.append(commands.Problem("no_kind", (kind.arg,)))
    outcome = parsed.has("esito")
    if outcome and register.outcome_of(outcome.arg) is None:
        errors.append(commands.Problem("no_outcome", (outcome.arg,)))
    solution = parsed.has("soluzione")
    if solution and register.solution_of(solution.arg) is None:
        errors.append(commands.Problem("solution"))
    cause = parsed.has("causa")
    if cause and indemnity.cause_of(cause.arg) is None:
        errors.append(commands.Problem("no_cause", (cause.arg,)))
    incomplete = parsed.has("incompleto")
    if incomplete and incomplete.arg.strip().lower() not in ("", "no"):
        errors.append(commands.Problem("incomplete"))
    if parsed.has("risposta") and not parsed.body:
        errors.append(commands.Problem("answer_text"))
    if work_order is not None:
        errors.extend(_state_problems(parsed, work_order))
    if not errors and not parsed.body and not parsed.commands:
        errors.append(commands.Problem("empty"))
    return errors


def _state_problems(parsed: commands.Parsed, work_order: WorkOrder) -> list[commands.Problem]:
    """What the case's state makes impossible: taking back a reply it does not have or that
    its closing made final, resuming a clock that is not stopped."""
    found = []
    take_back = parsed.has("interlocutoria") and not parsed.body and not parsed.has("sospendi")
    if take_back and not parsed.errors:
        if work_order.status == workorders.CLOSED:
            found.append(commands.Problem("closed_undo"))
        elif work_order.reasoned_reply_at is None:
            found.append(commands.Problem("nothing_to_undo"))
    if parsed.has("riprendi") and work_order.status != workorders.SUSPENDED:
        found.append(commands.Problem("not_suspended"))
    return found


def apply(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    parsed: commands.Parsed,
    actor: str,
) -> None:
    """Carries out the charter commands of a message `problems` found nothing wrong with."""
    office = services.settings.office(work_order.office)
    category = parsed.has("categoria")
    if category:
        workorders.set_category(
            session,
            work_order,
            category=category.arg.lower(),
            office=office,
            actor=actor,
            clock=services.clock,
            requests=services.settings.charter.requests,
        )
    if parsed.has("riprendi"):  # as when the citizen answers (intake.py)
        restart = office.term(work_order.category or None).on_integration == "restart"
        workorders.resume(session, work_order, actor, services.clock, restart=restart)
    protocollo = parsed.has("protocollo")
    if protocollo:
        workorders.set_protocollo(session, work_order, protocollo.arg, actor)
    kind = parsed.has("tipo")
    if kind:
        found_kind = register.kind_of(kind.arg) or kind.arg
        register.set_kind(
            session, work_order, found_kind, actor, settings=services.settings, clock=services.clock
        )
    outcome = parsed.has("esito")
    if outcome:
        found = register.outcome_of(outcome.arg) or outcome.arg
        register.set_outcome(session, work_order, found, actor, services.settings)
    solution = parsed.has("soluzione")
    solved = register.solution_of(solution.arg) if solution else None
    if solved:
        due, text = solved
        register.set_solution(session, work_order, text, due, actor)
    cause = parsed.has("causa")
    found_cause = indemnity.cause_of(cause.arg) if cause else None
    if found_cause:
        indemnity.set_cause(session, work_order, found_cause, actor, services.settings)
    incomplete = parsed.has("incompleto")
    if incomplete:
        missing = incomplete.arg.strip().lower() != "no"
        indemnity.set_minimum_data_missing(session, work_order, missing, actor, services.settings)
    for command in parsed.commands:
        if command.name == "azione":
            register.add_action(session, work_order, command.arg, actor)
    extension = parsed.has("proroga")
    found_extension = commands.extension(extension.arg) if extension else None
    if found_extension:
        days, reason = found_extension
        workorders.extend(
            session, work_order, days=days, reason=reason, actor=actor, clock=services.clock
        )
        tell_citizen(
            services,
            session,
            work_order,
            "extension",
            {"days": days, "reason": reason, "due_at": work_order.due_at},
        )
