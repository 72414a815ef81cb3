"""The case file and the letters to citizens with no e-mail address as PDFs: the only importer
of reportlab. It renders plain values (the view of `workorders show` and the event log, in
words and local dates: transcript.readable; a letter's words) with the fonts reportlab ships
(Bitstream Vera, which covers Italian text, "—", "€" and typographic quotes), so no system
fonts are needed.
The HTML and .eml formats remain the exact record; this is the readable copy for a paper file
or an access request."""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

LABELS = {
    "it": {
        "case": "Pratica n.",
        "subject": "Oggetto",
        "status": "Stato",
        "office": "Ufficio",
        "contact": "Contatto",
        "opened": "Aperta",
        "due": "Scadenza",
        "messages": "Messaggi",
        "from": "da",
        "to": "a",
        "attachments": "Allegati",
        "events": "Registro degli eventi",
    },
    "en": {
        "case": "Case no.",
        "subject": "Subject",
        "status": "Status",
        "office": "Office",
        "contact": "Contact",
        "opened": "Opened",
        "due": "Due",
        "messages": "Messages",
        "from": "from",
        "to": "to",
        "attachments": "Attachments",
        "events": "Event log",
    },
}
_FONTS = Path(reportlab.__file__).parent / "fonts"


def _fonts() -> None:
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", str(_FONTS / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont("VeraBd", str(_FONTS / "VeraBd.ttf")))


def _text(value: object) -> str:
    return escape(str(value or "")).replace("\n", "<br/>")


def render(
    case: dict[str, Any],
    events: list[dict[str, Any]],
    language: str,
    author: str,
    *,
    extra: Sequence[tuple[str, str]] = (),
    annex: tuple[str, Sequence[tuple[str, str]]] | None = None,
) -> bytes:
    """`extra`: more (label, value) rows for the case's table (the evidence file's timeline);
    `annex`: a heading and (name, digest) rows listed at the end (what an archive holds)."""
    _fonts()
    label = LABELS.get(language, LABELS["it"])
    body = ParagraphStyle("body", fontName="Vera", fontSize=9.5, leading=12.5)
    meta = ParagraphStyle("meta", parent=body, fontSize=8, textColor=colors.grey)
    bold = ParagraphStyle("bold", parent=body, fontName="VeraBd")
    title = ParagraphStyle("title", parent=bold, fontSize=15, leading=19, spaceAfter=6)
    heading = ParagraphStyle(
        "heading", parent=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4
    )

    fields = [
        (label["subject"], case["subject"]),
        (label["status"], case["status_text"]),
        (label["office"], case["office_name"]),
        (label["contact"], case["contact_text"]),
        (label["opened"], case["opened_text"]),
        (label["due"], case["due_text"]),
        *extra,
    ]
    story: list[Any] = [
        Paragraph(_text(f"{label['case']} {case['number']}"), title),
        Table(
            [[Paragraph(_text(k), bold), Paragraph(_text(v), body)] for k, v in fields],
            colWidths=[30 * mm, 140 * mm],
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]),
        ),
        Paragraph(_text(label["messages"]), heading),
    ]
    for message in case["messages"]:
        line = f"{message['date_text']} — {message['kind_text']}"
        line += f" — {label['from']} {message['from_text']}"
        if message["to_text"]:
            line += f" {label['to']} {', '.join(message['to_text'])}"
        story += [Paragraph(_text(line), meta), Paragraph(_text(message["subject"]), bold)]
        story.append(Paragraph(_text(message["body_text"]), body))
        if message["attachments"]:
            names = ", ".join(f"{a['filename']} ({a['size']} B)" for a in message["attachments"])
            story.append(Paragraph(_text(f"{label['attachments']}: {names}"), meta))
        story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(_text(label["events"]), heading))
    if events:
        story.append(
            Table(
                [
                    [
                        Paragraph(_text(e["at_text"]), meta),
                        Paragraph(_text(e["kind_text"]), body),
                        Paragraph(_text(e["actor"]), body),
                    ]
                    for e in events
                ],
                colWidths=[45 * mm, 60 * mm, 65 * mm],
            )
        )
    if annex is not None:
        mono = ParagraphStyle("mono", parent=meta, fontName="Courier", fontSize=6.5)
        story.append(Paragraph(_text(annex[0]), heading))
        rows = [[Paragraph(_text(n), meta), Paragraph(_text(d), mono)] for n, d in annex[1]]
        story.append(Table(rows, colWidths=[70 * mm, 100 * mm]))
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{label['case']} {case['number']}",
        author=author,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    document.build(story)
    return out.getvalue()


LETTER_LABELS = {
    "it": {
        "subject": "Oggetto",
        "case": "Pratica n.",
        "dear": "Gentile",
        "dear_unknown": "Gentile cittadina, gentile cittadino,",
        "regards": "Cordiali saluti",
        "responsible": "Responsabile",
        "phone": "Telefono",
        "no_address": "(indirizzo postale non registrato)",
        "quote": "Per ogni comunicazione su questa pratica citi il numero",
    },
    "en": {
        "subject": "Subject",
        "case": "Case no.",
        "dear": "Dear",
        "dear_unknown": "Dear citizen,",
        "regards": "Kind regards",
        "responsible": "Responsible",
        "phone": "Phone",
        "no_address": "(no postal address recorded)",
        "quote": "Please quote this case number in any communication",
    },
}


def letter(values: dict[str, str], language: str) -> bytes:
    """A reply on paper, for a citizen with no e-mail address: the institution and the office
    at the top, the citizen's name and postal address where a window envelope shows them, the
    date, the case number as the subject, the reply, the signature. `values` are the letter's
    words, already in the reader's language: institution, office_name, responsible,
    office_phone, name, postal_address, date, number, subject, body, signature."""
    _fonts()
    label = LETTER_LABELS.get(language, LETTER_LABELS["it"])
    body = ParagraphStyle("letter", fontName="Vera", fontSize=10.5, leading=14.5)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11)
    bold = ParagraphStyle("letter-bold", parent=body, fontName="VeraBd")
    right = ParagraphStyle("right", parent=body, alignment=2)
    office = [values["office_name"]]
    if values.get("responsible"):
        office.append(f"{label['responsible']}: {values['responsible']}")
    if values.get("office_phone"):
        office.append(f"{label['phone']}: {values['office_phone']}")
    address = values.get("postal_address") or label["no_address"]
    recipient = "<br/>".join(
        _text(line) for line in [values.get("name", ""), *address.split(", ")] if line
    )
    name = values.get("name", "")
    greeting = f"{label['dear']} {name}," if name else label["dear_unknown"]
    number = values["number"]
    story: list[Any] = [
        Paragraph(_text(values["institution"]), bold),
        Paragraph(_text("\n".join(office)), small),
        Spacer(1, 14 * mm),
        Table(
            [["", Paragraph(recipient, body)]],
            colWidths=[95 * mm, 75 * mm],
            style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]),
        ),
        Spacer(1, 12 * mm),
        Paragraph(_text(values["date"]), right),
        Spacer(1, 6 * mm),
        Paragraph(
            _text(f"{label['subject']}: {label['case']} {number} — {values['subject']}"), bold
        ),
        Spacer(1, 5 * mm),
        Paragraph(_text(greeting), body),
        Spacer(1, 3 * mm),
    ]
    for paragraph in values["body"].split("\n\n"):
        story += [Paragraph(_text(paragraph.strip()), body), Spacer(1, 3 * mm)]
    story += [
        Spacer(1, 4 * mm),
        Paragraph(_text(label["regards"]), body),
        Paragraph(_text(f"{values['signature']}\n{values['institution']}"), body),
        Spacer(1, 12 * mm),
        Paragraph(_text(f"{label['quote']}: {number}."), small),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{label['case']} {number}",
        author=values["institution"],
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    ).build(story)
    return out.getvalue()
