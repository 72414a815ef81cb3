"""The satisfaction questionnaire (issue 18, item 9): several 1-5 questions and a comment,
asked in the closing letter (with the web page's link when there is a web form), answered by
reply, kept with the questions as asked; the closing letter also says what refund is due."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default

import pytest

from mailbot.cases.operator import operator_action
from mailbot.cases.survey import parse_reply
from mailbot.models import OutboundMessage, SurveyResponse, WorkOrder

from support.app import citizen_reply, complaint, make_process, make_services, rows, write_config

OPERATOR = "mario.rossi@comune.example.it"
QUESTIONS = ("Quanto è chiara la risposta?", "Quanto è stata rapida?", "Ci consiglierebbe?")


@pytest.mark.parametrize(
    ("text", "scores", "comment"),
    [
        ("4 5 3", (4, 5, 3), ""),
        ("4, 5, 3\nBravi, ma lenti.", (4, 5, 3), "Bravi, ma lenti."),
        ("1) 4  2) 5  3) 3", (4, 5, 3), ""),
        ("1. 4\n2. 5\n3. 3\nGrazie", (4, 5, 3), "Grazie"),
        ("4\n5\n3", (4, 5, 3), ""),
        ("4/5 5/5 3/5", (4, 5, 3), ""),
        ("4 5", None, None),  # one short
        ("4 5 3 2", None, None),  # one too many
        ("4 6 3", None, None),
        ("3 lampioni sono ancora spenti in via Po", None, None),
        ("2) 4 1) 5 3) 3", None, None),  # numbered out of order
    ],
)
def test_what_counts_as_an_answer_to_three_questions(text, scores, comment):
    answer = parse_reply(text, 3)
    assert (answer.scores if answer else None) == scores
    if answer:
        assert answer.comment == comment


@pytest.fixture
def survey_services(tmp_path):
    (tmp_path / "maildir").mkdir()
    questions = ", ".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS)
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=(
            f"[charter]\nsatisfaction_survey = true\nsurvey_questions = [{questions}]\n"
            '[web]\nlisten = "127.0.0.1:8099"\npublic_url = "https://reclami.example.it"\n'
            '[[categories]]\nid = "billing_error"\nname = "Errore di fatturazione"\n'
            'keywords = ["bolletta"]\nrefund_eur = 20\n[[categories]]\nid = "other"\n'
            'name = "Altro"\n'
        ),
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


@pytest.mark.today("2026-03-11T09:00:00+00:00")
def test_the_closing_letter_asks_every_question_and_the_reply_is_kept(survey_services, now):
    process = make_process(survey_services)
    process(complaint(1, "Bolletta sbagliata"), received_at=now)
    [case] = rows(survey_services, WorkOrder)
    operator_action(survey_services, case.number, OPERATOR, "#esito fondato\n#chiudi\nCorretta.")
    [closing] = [o for o in rows(survey_services, OutboundMessage) if o.kind == "closing"]
    body = message_from_bytes(closing.raw, policy=default).get_body(("plain",)).get_content()
    for number, question in enumerate(QUESTIONS, start=1):
        assert f"{number}. {question}" in body
    assert f"https://reclami.example.it/questionario/{case.reply_token}" in body
    assert "indennizzo di 20,00 euro (reclamo fondato)" in body

    outcome = process(citizen_reply(closing, "4 5 2\nLa risposta è arrivata tardi.", 1))
    assert outcome.reason == "satisfaction 4/5 5/5 2/5"
    [response] = rows(survey_services, SurveyResponse)
    assert json.loads(response.scores) == [4, 5, 2]
    assert json.loads(response.questions) == list(QUESTIONS)
    assert response.comment == "La risposta è arrivata tardi." and response.channel == "email"
    [case] = rows(survey_services, WorkOrder)
    assert case.satisfaction == 4 and case.status == "closed"  # the mean, rounded

    # Answering again replaces the answer: one per case in the figures.
    process(citizen_reply(closing, "5 5 5", 2))
    [response] = rows(survey_services, SurveyResponse)
    assert json.loads(response.scores) == [5, 5, 5] and response.comment == ""
    # Two scores for three questions is not an answer: a follow-up, the case reopens.
    process(citizen_reply(closing, "4 5", 3))
    [case] = rows(survey_services, WorkOrder)
    assert case.status == "open"
