"""Reply checks (issue 33, item 5): a reasoned reply to a regulated complaint that lacks what
ARERA requires of it (reference, person to contact, assessment with the rules applied,
corrective actions and timing, list of attachments) is held and its author told what is
missing and how to send it anyway (#invia); the command line refuses it; the reply template
holds every element; an unregulated service's replies leave as before."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import Session

from mailbot import config
from mailbot.cases import reply_checks
from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError, InputError
from mailbot.models import Event, OutboundMessage
from mailbot.replies.render import templates_root
from unit.test_conversations import OPERATOR, case, kinds, outbound, reply

from support.app import make_process, make_services, rows, sent, write_config

REGULATED = '[charter.indemnity]\nprofile = "arera_water"\n'
# A waste operator: regulated by its request profile alone (the indemnity stays "charter").
WASTE = '[charter.requests]\nprofile = "arera_waste"\nscheme = "III"\n'
# A reasoned reply with every element, written as an operator would (no template).
COMPLETE = (
    "Gentile signor Bianchi,\n\n"
    "abbiamo verificato la perdita segnalata: ai sensi dell'art. 12 del regolamento del "
    "servizio idrico la riparazione spetta al gestore.\n"
    "Azioni correttive: la squadra sostituirà la condotta entro il 20 marzo.\n"
    "Per ogni chiarimento può contattare la referente, Anna Neri, tel. 06 1234567.\n"
)
TOO_SHORT = "La perdita sarà riparata."


def _services(tmp_path: Path, extra: str):
    (tmp_path / "maildir").mkdir()
    return make_services(write_config(tmp_path / "mailbot.toml", extra=extra))


@pytest.fixture
def water(tmp_path):
    services = _services(tmp_path, REGULATED)
    yield services
    services.engine.dispose()


@pytest.fixture
def opened(water):
    make_process(water)("citizen_plain.eml")
    return outbound(water, "notification")


def text_of(row: OutboundMessage) -> str:
    message = email.message_from_bytes(row.raw, policy=default)
    return str(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")


def events(services, kind: str) -> list[Event]:
    return [e for e in rows(services, Event) if e.kind == kind]


def with_attachment(raw: bytes, filename: str) -> bytes:
    message = email.message_from_bytes(raw, policy=default)
    message.add_attachment(b"%PDF-1.4 verbale", "application", "pdf", filename=filename)
    return message.as_bytes()


# --- the rule, as data ---------------------------------------------------------------------


def test_each_element_is_found_by_its_cues_and_only_by_them():
    everything = [e.id for e in reply_checks.ELEMENTS if e.id != "attachments"]
    assert reply_checks.missing("Buongiorno.") == everything
    for element in reply_checks.ELEMENTS:
        for cue in element.cues:
            lacking = reply_checks.missing(f"Testo. {cue.upper()} xyz", ["verbale.pdf"])
            assert element.id not in lacking, (element.id, cue)
    # At the start of a word, accents ignored: "part." is no article, "potrà" is "potra".
    assert "assessment" in reply_checks.missing("Da parte nostra, part. 3")
    assert "contact" not in reply_checks.missing("Potrà rivolgersi allo sportello.")


def test_the_attachments_list_is_asked_only_of_a_reply_that_carries_files():
    text = "Nessun elenco qui."
    assert "attachments" not in reply_checks.missing(text)
    assert "attachments" in reply_checks.missing(text, ["verbale.pdf"])
    assert "attachments" not in reply_checks.missing(text + " Vedi verbale.pdf", ["verbale.pdf"])
    assert "attachments" not in reply_checks.missing("Allegati: il verbale.", ["verbale.pdf"])


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_shipped_reply_template_holds_every_element_under_its_heading(tmp_path, language):
    template = (templates_root_of(tmp_path) / language / "reasoned_reply.txt.j2").read_text()
    for heading in reply_checks.headings(language):
        assert f"\n{heading}\n" in f"\n{template}", heading
    assert reply_checks.missing(template, ["verbale.pdf"]) == []


def templates_root_of(tmp_path: Path) -> Path:
    services = _services(tmp_path, "")
    try:
        return templates_root(services.settings)
    finally:
        services.engine.dispose()


def test_the_switch_is_its_own_table_and_names_its_key(tmp_path):
    def load(extra: str):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        (folder / "maildir").mkdir(parents=True)
        return config.load(write_config(folder / "mailbot.toml", extra=extra)).charter

    assert not load("").reply_checks.active(load("").indemnity.profile)  # municipal charter
    water = load(REGULATED)
    assert water.reply_checks.active(water.indemnity.profile)
    forced = load('[charter.reply_checks]\nmode = "on"\nkinds = ["reclamo", "segnalazione"]\n')
    assert forced.reply_checks.active("charter") and "segnalazione" in forced.reply_checks.kinds
    waste = load(WASTE)
    assert waste.indemnity.profile == "charter"
    assert waste.reply_checks.active(waste.indemnity.profile, waste.requests.profile)
    assert not waste.reply_checks.active("charter", "municipal")
    off = load(REGULATED + '[charter.reply_checks]\nmode = "off"\n')
    assert not off.reply_checks.active(off.indemnity.profile)
    with pytest.raises(ConfigError, match=r"charter\.reply_checks\.mode: must be one of"):
        load('[charter.reply_checks]\nmode = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"charter\.reply_checks\.kinds"):
        load("[charter.reply_checks]\nkinds = []\n")


def test_the_kinds_take_tipos_short_words_and_refuse_an_unknown_kind(tmp_path):
    """Review finding 9: "rettifica" is the bill correction, "bolletta" no kind at all."""
    from mailbot.cases.register import KIND_ALIASES
    from mailbot.config.reply_checks import SHORT_KINDS

    def load(kinds: str):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        (folder / "maildir").mkdir(parents=True)
        extra = f"[charter.reply_checks]\nkinds = {kinds}\n"
        return config.load(write_config(folder / "mailbot.toml", extra=extra)).charter

    checked = load('["reclamo", "Rettifica", "informazioni", "rettifica_fatturazione"]')
    kinds = ("reclamo", "rettifica_fatturazione", "richiesta_informazioni")  # ids, once each
    assert checked.reply_checks.kinds == kinds
    with pytest.raises(
        ConfigError, match=r"charter\.reply_checks\.kinds: 'bolletta' is not a kind"
    ):
        load('["reclamo", "bolletta"]')
    assert SHORT_KINDS == KIND_ALIASES  # the words #tipo takes


# --- by mail: held, told, sent anyway ------------------------------------------------------


def test_an_incomplete_reply_is_held_and_its_author_told_what_is_missing(water, opened):
    process = make_process(water)
    process(reply(opened, OPERATOR, TOO_SHORT))
    assert sent(water, "relay") == []
    assert case(water).reasoned_reply_at is None  # the clock runs on: nothing has left
    assert kinds(water)[-2:] == ["held_reply", "notice"]
    [notice] = sent(water, "notice")
    assert notice.recipients == OPERATOR
    subject = email.message_from_bytes(notice.raw, policy=default)["Subject"]
    assert "Risposta trattenuta" in subject
    body = text_of(notice)
    for name in reply_checks.names(["contact", "assessment", "actions"], "it"):
        assert f"- {name}" in body, name
    assert "riferimento al reclamo" not in body.split("Un modello")[0]  # the relay adds it
    assert "  #invia\n" in body
    for heading in reply_checks.headings("it"):  # the template, to copy
        assert heading in body
    [held] = events(water, "reply_checks.held")
    assert '"contact"' in held.data

    # "#invia" alone, in answer to the notice: the held reply goes as it was written.
    process(reply(notice, OPERATOR, "#invia"))
    [relay] = sent(water, "relay")
    assert TOO_SHORT in text_of(relay)
    assert case(water).reasoned_reply_at is not None
    assert len(events(water, "reply_checks.sent")) == 1
    # A second "#invia": nothing is held any more; the operator is told, nothing is sent.
    process(reply(notice, OPERATOR, "#invia"))
    assert len(sent(water, "relay")) == 1
    assert "non ne ha" in text_of(sent(water, "notice")[-1])


def test_a_waste_operators_short_reply_is_held_by_its_request_profile_alone(tmp_path):
    services = _services(tmp_path, WASTE)
    process = make_process(services)
    process("citizen_plain.eml")
    opened = outbound(services, "notification")
    assert "RECLAMO DI UN SERVIZIO REGOLATO" in text_of(opened)  # the template is offered
    process(reply(opened, OPERATOR, TOO_SHORT))
    assert sent(services, "relay") == [] and case(services).reasoned_reply_at is None
    assert len(events(services, "reply_checks.held")) == 1
    assert "Risposta trattenuta" in email.message_from_bytes(
        sent(services, "notice")[-1].raw, policy=default)["Subject"]  # fmt: skip
    services.engine.dispose()


def test_a_complete_reply_leaves_at_once_and_a_held_one_goes_stale(water, opened):
    process = make_process(water)
    process(reply(opened, OPERATOR, TOO_SHORT))
    [notice] = sent(water, "notice")
    process(reply(notice, OPERATOR, COMPLETE))  # the completed reply, checked again
    [relay] = sent(water, "relay")
    assert "art. 12" in text_of(relay) and TOO_SHORT not in text_of(relay)
    assert case(water).reasoned_reply_at is not None
    process(reply(notice, OPERATOR, "#invia"))  # the old held text never follows it
    assert len(sent(water, "relay")) == 1


def test_invia_above_a_reply_sends_it_unchecked(water, opened):
    make_process(water)(reply(opened, OPERATOR, "#invia\n" + TOO_SHORT))
    [relay] = sent(water, "relay")
    assert TOO_SHORT in text_of(relay) and "#invia" not in text_of(relay)
    assert events(water, "reply_checks.held") == []


def test_a_question_or_an_interim_message_is_not_checked(water, opened):
    process = make_process(water)
    process(reply(opened, OPERATOR, "#interlocutoria\nStiamo verificando."))
    process(reply(opened, OPERATOR, "#sospendi Ci manda il codice cliente?"))
    assert len(sent(water, "relay")) == 2 and events(water, "reply_checks.held") == []


def test_attached_files_must_be_listed(water, opened):
    process = make_process(water)
    process(with_attachment(reply(opened, OPERATOR, COMPLETE), "verbale.pdf"))
    assert sent(water, "relay") == []
    assert "- l'elenco degli allegati" in text_of(sent(water, "notice")[-1])
    listed = COMPLETE + "Allegati: verbale del sopralluogo.\n"
    process(with_attachment(reply(opened, OPERATOR, listed), "verbale.pdf"))
    [relay] = sent(water, "relay")
    assert "verbale.pdf" in {p.get_filename() for p in email.message_from_bytes(
        relay.raw, policy=default).iter_attachments()}  # fmt: skip


def test_the_offices_responsible_in_the_letter_is_the_person_to_contact(tmp_path):
    services = _services(tmp_path, REGULATED)
    path = services.settings.source_path
    assert path is not None
    path.write_text(
        path.read_text().replace(
            "response_days = 30\n", 'response_days = 30\nresponsible = "Dott.ssa Anna Neri"\n'
        )
    )
    services = make_services(path)
    make_process(services)("citizen_plain.eml")
    with Session(services.engine) as session:
        given = reply_checks.provided_by_letter(services, session, case(services))
    assert given == {"reference", "contact"}
    without_contact = COMPLETE.replace("Per ogni chiarimento può contattare la referente, "
                                       "Anna Neri, tel. 06 1234567.\n", "")  # fmt: skip
    make_process(services)(reply(outbound(services, "notification"), OPERATOR, without_contact))
    [relay] = sent(services, "relay")
    assert "Responsabile: Dott.ssa Anna Neri" in text_of(relay)
    services.engine.dispose()


def test_an_unregulated_services_replies_are_not_checked(services, process):
    process("citizen_plain.eml")
    process(reply(outbound(services, "notification"), OPERATOR, TOO_SHORT))
    assert len(sent(services, "relay")) == 1
    assert events(services, "reply_checks.held") == []


# --- the command line: refused with the same list, #invia sends anyway --------------------


def test_the_command_line_refuses_an_incomplete_reply_and_invia_sends_it(water, opened):
    number = case(water).number
    with pytest.raises(InputError, match="lacks: the person to contact; the assessment"):
        operator_action(water, number, OPERATOR, TOO_SHORT)
    assert sent(water, "relay") == [] and kinds(water)[-1] == "notification"
    with pytest.raises(InputError, match="#invia alone sends the held reply"):
        operator_action(water, number, OPERATOR, "#invia")
    done = operator_action(water, number, OPERATOR, "#invia\n" + TOO_SHORT)
    assert "recorded as the reasoned reply" in done
    assert len(sent(water, "relay")) == 1


# --- the back office: the form lists the elements, a refusal names the missing ones --------


@pytest.fixture
def regulated_office(tmp_path):
    from support.case_office import make_office_services, populate

    first = make_office_services(tmp_path)
    first.engine.dispose()
    path = first.settings.source_path
    assert path is not None
    path.write_text(path.read_text() + "\n" + REGULATED)
    services = make_services(path)
    populate(services)
    yield services
    services.engine.dispose()


def test_the_back_office_form_lists_the_elements_and_refuses_until_sent_anyway(regulated_office):
    from unit.test_backoffice_cases import client_for, post

    from support.case_office import OPERATOR as OFFICE_OPERATOR
    from support.case_office import case as office_case

    client = client_for(regulated_office, OFFICE_OPERATOR)
    page = client.get("/pratiche/2026-000001").text
    assert "la risposta motivata deve contenere" in page and 'name="invia"' in page
    for name in reply_checks.names(reply_checks.BY_ID, "it"):
        assert name.replace("'", "&#39;") in page, name

    refused = post(client, 1, "rispondi", {"testo": TOO_SHORT, "modo": "motivata"})
    assert refused.status_code == 400
    # This office names its responsible in every letter: the person to contact is there.
    assert "manca di: la valutazione con le norme" in refused.text
    assert "spuntate «Invia comunque»" in refused.text and TOO_SHORT in refused.text
    assert sent(regulated_office, "relay") == []
    assert office_case(regulated_office, 1).reasoned_reply_at is None

    done = post(client, 1, "rispondi", {"testo": TOO_SHORT, "modo": "motivata", "invia": "1"})
    assert done.status_code == 303
    [relay] = sent(regulated_office, "relay")
    assert TOO_SHORT in text_of(relay) and "#invia" not in text_of(relay)
    assert office_case(regulated_office, 1).reasoned_reply_at is not None


def test_a_regulated_complaints_notification_offers_the_reply_template(water, opened):
    body = text_of(opened)
    assert "RECLAMO DI UN SERVIZIO REGOLATO" in body
    for heading in reply_checks.headings("it"):
        assert f"\n{heading}\n" in body, heading
    assert f"Rispondiamo al Suo reclamo n. {case(water).number} del " in body
    html = email.message_from_bytes(opened.raw, policy=default).get_body(("html",))
    assert "<pre>Riferimento al reclamo" in str(html.get_content())


def test_an_unregulated_notification_has_no_template(services, process):
    process("citizen_plain.eml")
    body = text_of(outbound(services, "notification"))
    assert "SERVIZIO REGOLATO" not in body and "Referente da contattare" not in body


def test_the_checks_come_before_the_approval_and_invia_goes_on_to_it(tmp_path):
    from unit.test_desk_flow import APPROVAL, RESPONSIBLE, services_with

    from support.app import complaint

    services = services_with(tmp_path, APPROVAL + REGULATED, approval=True)
    process = make_process(services)
    process(complaint(1))
    process(reply(outbound(services, "notification"), OPERATOR, TOO_SHORT))
    assert sent(services, "approval") == [] and sent(services, "relay") == []
    [notice] = sent(services, "notice")
    process(reply(notice, OPERATOR, "#invia"))  # sent anyway: now it waits for the responsible
    [request] = sent(services, "approval")
    assert request.recipients == RESPONSIBLE and sent(services, "relay") == []
    process(reply(request, RESPONSIBLE, "#approva", name="Carla Neri"))
    [relay] = sent(services, "relay")
    assert TOO_SHORT in text_of(relay)
    subjects = [email.message_from_bytes(n.raw, policy=default)["Subject"]
                for n in sent(services, "notice")]  # fmt: skip
    assert sum("Risposta trattenuta" in s for s in subjects) == 1  # approved: not held again
    services.engine.dispose()
