"""The satisfaction questionnaire a closed case's letter asks for (`[charter]
satisfaction_survey`, `survey_questions`): a 1-5 score per question and a comment, given by
replying to the closing letter or on the web form's page (`/questionario/<token>`); one answer
per case, kept with the questions as they were asked, aggregated in the annual report.

A reply answers when its first lines hold exactly one score per question and nothing else
("4 5 3", "4, 5, 3", "1) 4  2) 5  3) 3", a score a line); the lines after them are the
comment. With a single question, a short reply opening with the score ("5/5 grazie") answers
too. Anything else is a real follow-up and goes to the office.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mailbot.config import Settings
from mailbot.db import record_event
from mailbot.models import SurveyResponse, WorkOrder, utcnow

DEFAULT_QUESTIONS = {
    "it": ("Quanto è soddisfatto di come abbiamo gestito la pratica?",),
    "en": ("How satisfied are you with how we handled your case?",),
}
MAX_COMMENT = 2000
_NUMBERED = re.compile(r"(\d{1,2})\s*[).:=-]\s*([1-5])(?!\d)")
_SCORES_ONLY = re.compile(r"[\s,;]*(?:[1-5](?:\s*/\s*5)?[\s,;]*)+")
_SINGLE = re.compile(r"^\s*([1-5])(?:\s*/\s*5)?\s*[.!]?\s*(?:\S.{0,40})?$")


@dataclass(frozen=True)
class Answer:
    scores: tuple[int, ...]
    comment: str = ""


def questions(settings: Settings, language: str = "it") -> tuple[str, ...]:
    return settings.charter.survey_questions or DEFAULT_QUESTIONS.get(
        language, DEFAULT_QUESTIONS["it"]
    )


def parse_reply(text: str, count: int) -> Answer | None:
    """The answer in a reply to the closing letter, or None when it is not one."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    single = count == 1 and len(lines) <= 2 and len(text.strip()) <= 60
    if single and (found := _SINGLE.match(lines[0])):
        return Answer((int(found.group(1)),))
    numbered = _numbered(lines, count)
    if numbered is not None:
        return numbered
    scores: list[int] = []
    used = 0
    for line in lines:
        if len(scores) >= count or not _SCORES_ONLY.fullmatch(line):
            break
        scores += [int(s) for s in re.findall(r"(?<![/\d])[1-5](?!\d)", line)]
        used += 1
    if len(scores) != count:
        return None
    return Answer(tuple(scores), _comment(lines[used:]))


def _numbered(lines: Sequence[str], count: int) -> Answer | None:
    """ "1) 4 2) 5", on one line or a question a line."""
    pairs: list[tuple[int, int]] = []
    used = 0
    for line in lines:
        found = _NUMBERED.findall(line)
        if not found or _NUMBERED.sub("", line).strip(" ,;"):
            break
        pairs += [(int(n), int(s)) for n, s in found]
        used += 1
        if len(pairs) >= count:
            break
    if [n for n, _ in pairs] != list(range(1, count + 1)):
        return None
    return Answer(tuple(s for _, s in pairs), _comment(lines[used:]))


def _comment(lines: Sequence[str]) -> str:
    """The lines after the scores, without any quoted line left of the letter."""
    return "\n".join(line for line in lines if not line.startswith(">")).strip()[:MAX_COMMENT]


def answered(session: Session, work_order: WorkOrder) -> bool:
    """The case's questionnaire has an answer already (the web page takes one, no more)."""
    found = select(SurveyResponse.id).where(SurveyResponse.work_order_id == work_order.id)
    return session.exec(found).first() is not None


def record(
    session: Session,
    work_order: WorkOrder,
    answer: Answer,
    asked: Sequence[str],
    *,
    channel: str,
    actor: str,
) -> SurveyResponse:
    """Keeps the answer with the questions as asked (a second answer replaces the first: one
    per case in the figures); the case's `satisfaction` is the mean score, rounded, for the
    register."""
    assert work_order.id is not None
    response = session.exec(
        select(SurveyResponse).where(SurveyResponse.work_order_id == work_order.id)
    ).first() or SurveyResponse(work_order_id=work_order.id, questions="[]", scores="[]")
    response.channel = channel
    response.answered_at = utcnow()
    response.questions = json.dumps(list(asked), ensure_ascii=False)
    response.scores = json.dumps(list(answer.scores))
    response.comment = answer.comment[:MAX_COMMENT]
    session.add(response)
    work_order.satisfaction = round(statistics.mean(answer.scores))
    session.add(work_order)
    record_event(
        session,
        "work_order.satisfaction",
        work_order_id=work_order.id,
        actor=actor,
        channel=channel,
        scores=list(answer.scores),
    )
    return response


@dataclass(frozen=True)
class QuestionFigures:
    question: str
    mean: float
    answers: int


def figures(session: Session, year: int) -> tuple[list[QuestionFigures], list[str], int]:
    """For the annual report: each question's mean score and count over the answers of the
    cases of `year`, the comments, and how many answered."""
    scores: dict[str, list[int]] = {}
    comments: list[str] = []
    query = (
        select(SurveyResponse)
        .join(WorkOrder, col(WorkOrder.id) == SurveyResponse.work_order_id)
        .where(col(WorkOrder.number).startswith(f"{year}/"))
        .where(col(WorkOrder.purged_at).is_(None))
        .where(col(WorkOrder.voided_at).is_(None))  # opened in error: no citizen's verdict
        .order_by(col(SurveyResponse.id))
    )
    responses = list(session.exec(query))
    for response in responses:
        for question, score in zip(
            json.loads(response.questions), json.loads(response.scores), strict=False
        ):
            scores.setdefault(question, []).append(int(score))
        if response.comment:
            comments.append(response.comment)
    per_question = [
        QuestionFigures(q, statistics.mean(values), len(values)) for q, values in scores.items()
    ]
    return per_question, comments, len(responses)


def link(settings: Settings, work_order: WorkOrder) -> str:
    """The questionnaire's page for this case on the web form, or "" without one."""
    if not settings.web.enabled or not settings.web.public_url:
        return ""
    return f"{settings.web.public_url}/questionario/{work_order.reply_token}"
