"""The case file as a PDF: the only importer of reportlab. It renders plain values (the JSON
view of `workorders show` and the event log) with the fonts reportlab ships (Bitstream Vera,
which covers Italian text, "—", "€" and typographic quotes), so no system fonts are needed.
The HTML and .eml formats remain the exact record; this is the readable copy for a paper file
or an access request."""

from __future__ import annotations

import io
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
        "in": "ricevuto",
        "out": "inviato",
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
        "in": "received",
        "out": "sent",
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


def render(case: dict[str, Any], events: list[dict[str, Any]], language: str, author: str) -> bytes:
    _fonts()
    label = LABELS.get(language, LABELS["it"])
    body = ParagraphStyle("body", fontName="Vera", fontSize=9.5, leading=12.5)
    meta = ParagraphStyle("meta", parent=body, fontSize=8, textColor=colors.grey)
    bold = ParagraphStyle("bold", parent=body, fontName="VeraBd")
    title = ParagraphStyle("title", parent=bold, fontSize=15, leading=19, spaceAfter=6)
    heading = ParagraphStyle(
        "heading", parent=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4
    )

    contact = case["contact"]
    who = f"{contact['name']} <{contact['email']}>"
    if contact.get("codice_fiscale"):
        who += f", {contact['codice_fiscale']}"
    fields = [
        (label["subject"], case["subject"]),
        (label["status"], case["status"]),
        (label["office"], case["office"]),
        (label["contact"], who),
        (label["opened"], case["opened_at"]),
        (label["due"], case["due_at"]),
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
        direction = label[message["direction"]]
        line = f"{message['date']} — {message['kind']} ({direction})"
        line += f" — {label['from']} {message['from']}"
        if message["to"]:
            line += f" {label['to']} {', '.join(message['to'])}"
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
                        Paragraph(_text(e["at"]), meta),
                        Paragraph(_text(e["kind"]), body),
                        Paragraph(_text(e["actor"]), body),
                    ]
                    for e in events
                ],
                colWidths=[45 * mm, 60 * mm, 65 * mm],
            )
        )
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
