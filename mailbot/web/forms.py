"""The complaint form and the questionnaire form, with their wording in Italian and English
(the citizen's language is `language` in the configuration)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from mailbot.cases.survey import MAX_COMMENT
from mailbot.ingest.addresses import breaks_a_line, typed_address

MAX_FILES = 10
MAX_TEXT = 20_000

WORDS: dict[str, dict[str, str]] = {
    "it": {
        "html_lang": "it",
        "write_to": "Per ogni necessità può scrivere a",
        "size_note": "Al massimo {mb} MB di allegati in tutto.",
        "send": "Invia",
        "send_answers": "Invia le risposte",
        "name": "Nome e cognome",
        "email": "Indirizzo e-mail (per la conferma e la risposta)",
        "phone": "Telefono",
        "subject": "Oggetto",
        "text": "Testo del reclamo o del suggerimento",
        "files": "Allegati",
        "privacy": "Ho letto l'informativa sul trattamento dei dati personali",
        "comment": "Commento (facoltativo)",
        "required": "Questo campo è obbligatorio.",
        "bad_email": "L'indirizzo e-mail non è valido.",
        "privacy_required": "Per inviare la segnalazione occorre accettare l'informativa.",
        "too_long": "Il testo è troppo lungo (al massimo {max} caratteri).",
        "too_many_files": "Si possono allegare al massimo {max} file.",
        "too_large": "Gli allegati superano il limite di {mb} MB complessivi.",
        "score_required": "Scelga un punteggio da 1 a 5.",
        "expired": "La pagina è scaduta o non è stata aperta da questo sito: la ricarichi e"
        " invii di nuovo.",
        "too_many": "Troppe segnalazioni inviate da questo indirizzo in poco tempo: riprovi più"
        " tardi, oppure scriva all'indirizzo indicato sotto.",
        "not_found": "La pagina richiesta non esiste.",
        "not_filed": "La segnalazione non è stata registrata: controlli i dati e la invii di"
        " nuovo, oppure scriva all'indirizzo indicato sotto.",
        "no_survey": "Il questionario non è disponibile a questo indirizzo.",
        "answered": "Il questionario di questa pratica è già stato compilato: grazie.",
        "line_break": "Questo campo non può contenere a capo o caratteri di controllo.",
        "not_a_file": "Gli allegati devono essere file.",
        "control_chars": "Il testo contiene caratteri di controllo non ammessi.",
        "unavailable": "Il servizio non è disponibile in questo momento: riprovi più tardi,"
        " oppure scriva all'indirizzo indicato sotto.",
    },
    "en": {
        "html_lang": "en",
        "write_to": "For anything else, write to",
        "size_note": "At most {mb} MB of attachments in all.",
        "send": "Send",
        "send_answers": "Send the answers",
        "name": "Full name",
        "email": "E-mail address (for the confirmation and the answer)",
        "phone": "Phone",
        "subject": "Subject",
        "text": "Your complaint or suggestion",
        "files": "Attachments",
        "privacy": "I have read the privacy notice",
        "comment": "Comment (optional)",
        "required": "This field is required.",
        "bad_email": "This is not a valid e-mail address.",
        "privacy_required": "Please accept the privacy notice to send your complaint.",
        "too_long": "The text is too long (at most {max} characters).",
        "too_many_files": "At most {max} files can be attached.",
        "too_large": "The attachments exceed the limit of {mb} MB in all.",
        "score_required": "Please choose a score from 1 to 5.",
        "expired": "This page has expired or was not opened from this site: reload it and send"
        " again.",
        "too_many": "Too many submissions from this address in a short time: please try again"
        " later, or write to the address below.",
        "not_found": "There is no such page.",
        "not_filed": "Your submission was not filed: check what you entered and send it"
        " again, or write to the address below.",
        "no_survey": "There is no questionnaire at this address.",
        "answered": "The questionnaire of this case has already been answered: thank you.",
        "line_break": "This field cannot hold line breaks or control characters.",
        "not_a_file": "Attachments must be files.",
        "control_chars": "The text holds control characters that are not allowed.",
        "unavailable": "The service is not available right now: please try again later, or"
        " write to the address below.",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["it"])


class _Address:
    """An address the pipeline reads back as one sender's (ingest.addresses)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and typed_address(field.data) is None:
            raise ValidationError(self.message)


class _OneLine:
    """No CR, LF, control character or U+2028/U+2029: the value goes into a header."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and breaks_a_line(field.data):
            raise ValidationError(self.message)


class _Text(_OneLine):
    """Lines and tabs, but no other control character (NUL cannot even be stored)."""

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and breaks_a_line(field.data.translate(_LINE_ENDS)):
            raise ValidationError(self.message)


_LINE_ENDS = str.maketrans("", "", "\r\n\t\u2028\u2029")


class _Files:
    """Only uploaded files: a text field called `files` is not one."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if any(not hasattr(item, "filename") for item in field.data or ()):
            raise ValidationError(self.message)


@cache
def complaint_form(language: str) -> type[FlaskForm]:
    w = words(language)
    required = DataRequired(w["required"])
    one_line = _OneLine(w["line_break"])

    class ComplaintForm(FlaskForm):  # type: ignore[misc]
        name = StringField(w["name"], [Length(max=200), one_line])
        email = EmailField(w["email"], [Optional(), Length(max=254), _Address(w["bad_email"])])
        phone = StringField(w["phone"], [Length(max=40), one_line])
        subject = StringField(w["subject"], [required, Length(max=200), one_line])
        text = TextAreaField(
            w["text"],
            [
                required,
                Length(max=MAX_TEXT, message=w["too_long"].format(max=MAX_TEXT)),
                _Text(w["control_chars"]),
            ],
        )
        files = MultipleFileField(w["files"], [_Files(w["not_a_file"])])
        submission = HiddenField()  # the signed submission id (web.submissions)
        privacy = BooleanField(w["privacy"], [DataRequired(w["privacy_required"])])

    return ComplaintForm


@cache
def survey_form(count: int, language: str) -> type[FlaskForm]:
    """`count` questions, q0 … q{count-1}, each a 1-5 score, and a comment."""
    w = words(language)
    fields: dict[str, Any] = {
        f"q{n}": RadioField(
            choices=[SelectChoice(str(s)) for s in range(1, 6)],
            validators=[InputRequired(w["score_required"])],
        )
        for n in range(count)
    }
    fields["comment"] = TextAreaField(w["comment"], [Length(max=MAX_COMMENT)])
    return type("SurveyForm", (FlaskForm,), fields)
