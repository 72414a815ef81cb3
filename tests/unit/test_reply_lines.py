"""Every line of a reply gets a type from its shape before anything is cut (mailbot/replies/
lines.py): the grammar the trimming rules read. One line, one character."""

from __future__ import annotations

import pytest

from mailbot.replies.lines import classify
from mailbot.replies.quotes import new_text


def types(text: str) -> str:
    return "".join(classify(text.split("\n")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a quote header on one line, then the quote
        ("Fatto.\n\nOn Mon, 2 Mar 2026 at 10:15, Anna <a@example.it> wrote:\n> x", "tehq"),
        # wrapped: the address pushed to the next line (Dutch Gmail), then to a third (Italian)
        ("Ok\n\nOp ma 2 mrt. 2026 om 10:15 schreef Comune <\nurp@example.it>:\n> x", "tehhq"),
        (
            "Ok\n\nIl giorno lun 2 mar 2026 alle 10:15 Comune\nUrp <u@e.it> ha\nscritto:\n> x",
            "tehhhq",
        ),
        # the verb before the name (Thunderbird in German)
        ("Ok\n\nAm 02.03.26 um 10:15 schrieb Comune di Esempio:\n> x", "tehq"),
        # no verb: a date and an address, with or without a colon
        ("Ok\n\n2026-03-02 10:15 GMT+01:00 Comune <u@example.it>:\n> x", "tehq"),
        ("Ok\n\nlun 2 mar 2026, 10:15 Comune <u@example.it>\n> x", "tehq"),
        # ... but a sentence with a date over a quote is the sender's text
        ("Come scritto il 2 marzo 2026 nella delibera.\n> x", "tq"),
        # a header with nothing quoted under it: history, unmarked (HTML turned into text)
        ("Ok\n\nIl giorno 2 mar 2026, Comune <u@example.it> ha scritto:\nBuongiorno", "teHt"),
        # other quote marks count only under a quote header
        ("Ok\n\nOn 2 Mar 2026, Anna <a@example.it> wrote:\n| x\n| y", "tehqq"),
        ("| colonna | colonna |\n| a | b", "tt"),
        # banners, decorated or not; forwards
        ("Ok\n*-----Messaggio originale-----*\nx", "tdt"),
        ("Ok\n---------- Forwarded message ---------\nx", "tft"),
        ("Ok\nInizio messaggio inoltrato:\nx", "tft"),
        # a header block, bold labels, a Date before the From (Hotmail)
        ("Ok\n\n*Da:* Comune <u@example.it>\n*Inviato:* lunedì\n*Oggetto:* Pratica", "tebbb"),
        ("Ok\n\nDate: Thu, 26 Jun 2014\nSubject: Test\nFrom: a@example.org\nTo: b", "tebbbb"),
        # office hours are not a header block: no Sent/Date or Subject label
        ("Orari:\nDa: lunedì\nA: venerdì", "ttt"),
        # device footer and signature delimiter
        ("Ok\n\nInviato da iPhone", "tem"),
        ("Ok\n-- \nMario", "tst"),
        # a long quoted line wrapped by the quoting client goes on in lower case
        ("> " + "parola " * 12 + "\ncontinua qui\n\nRisposta", "qqet"),
    ],
)
def test_line_types(text, expected):
    assert types(text) == expected


def test_interleaved_answers_keep_the_quotes_they_answer():
    text = (
        "Gentile signora,\n\nOn Mon, 2 Mar 2026 at 10:15, Anna <a@example.it> wrote:\n"
        "> La buca è profonda?\n\nCirca 20 cm.\n\n> Quando la chiudete?\n\nVenerdì.\n\n"
        "> Grazie\n> Anna\n\nCordiali saluti\nMario Rossi\ntel. 0123 456789"
    )
    assert new_text(text) == (
        "Gentile signora,\n\n> La buca è profonda?\n\nCirca 20 cm.\n\n> Quando la chiudete?"
        "\n\nVenerdì."
    )


def test_a_forward_keeps_the_words_and_the_forwarded_text_without_its_header():
    text = (
        "Le inoltro la risposta dell'Ufficio tecnico.\n\n"
        "---------- Forwarded message ---------\nFrom: Ing. Verdi <verdi@example.it>\n"
        "Date: Mon, Mar 2, 2026 at 10:15 AM\nSubject: Buca\nTo: Mario <m@example.it>\n\n\n"
        "La buca sarà chiusa venerdì.\n\nCordiali saluti\nIng. Verdi\ntel. 0123 456789"
    )
    assert new_text(text) == (
        "Le inoltro la risposta dell'Ufficio tecnico.\n\nLa buca sarà chiusa venerdì."
    )
    # the same forward of the case's own mail (from the mailbox) is history: the words only
    assert new_text(text, {"verdi@example.it"}) == "Le inoltro la risposta dell'Ufficio tecnico."


def test_bottom_posting_relays_the_answer_under_the_quote():
    text = "On 2 Mar 2026, Comune <u@example.it> wrote:\n> Nuova pratica\n\nFatto.\n\n-- \nMario"
    assert new_text(text) == "Fatto."


def test_nothing_new_is_empty():
    assert new_text("On 2 Mar 2026, Comune <u@example.it> wrote:\n> Nuova pratica") == ""
    assert new_text("Cordiali saluti\nMario Rossi") == "Cordiali saluti\nMario Rossi"
