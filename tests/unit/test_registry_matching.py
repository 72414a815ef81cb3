"""Sender matching (issue 6): every rule in its order, the ambiguous and spoofed cases, what
the confirmation may say to an unverified sender, rematch after a registry update, and an
operator's link."""

from __future__ import annotations

import json
import random
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest
from sqlmodel import Session

from mailbot.admin import rematch
from mailbot.cases import views
from mailbot.matching import authn, registry_import
from mailbot.matching.codes import claimed_codes, normalise_code
from mailbot.models import Contact, OutboundMessage
from mailbot.types import MatchRule, MatchState

from support.app import make_process, make_services, rows, run_cli, write_config
from support.pec import BOX, Signer, envelope

REGISTRY = (
    "codice_fiscale;name;email;pec\n"
    "RSSMRA80A41H501Y;Rossi Maria Luisa;maria.rossi@example.it;\n"
    "BNCMRA75C12F205Q;Bianchi Mario;famiglia@example.it;\n"
    "VRDLCU82P41L219G;Verdi Lucia;famiglia@example.it;lucia.neri@pec.example.it\n"
    "07654320014;Edilizia Moderna Srl;;\n"
)
TRUSTED = "mx.comune.example.it"


@pytest.fixture
def matching(tmp_path):
    """Services whose receiving server is mx.comune.example.it, with the registry above."""
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        extra=f'[matching]\ntrusted_authserv_ids = ["{TRUSTED}"]\n',
    )
    services = make_services(config)
    path = tmp_path / "anagrafe.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    registry_import.import_file(services.engine, path, services.settings.registry)
    yield services
    services.engine.dispose()


def mail(sender, body="Segnalo un problema.", subject="Segnalazione", auth=(), name="Maria"):
    msg = EmailMessage(policy=SMTP)
    for value in auth:  # topmost first, as servers prepend them
        msg["Authentication-Results"] = value
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, body, subject, auth)))}@example.net>"
    msg.set_content(body)
    return msg.as_bytes()


def case(services, number=None):
    with Session(services.engine) as session:
        listed = views.list_work_orders(session, services.settings.timezone)
    return listed[-1] if number is None else next(c for c in listed if c["number"] == number)


def confirmation_text(services):
    [row] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"][-1:]
    msg = message_from_bytes(row.raw, policy=default)
    return msg.get_body(("plain",)).get_content() + str(msg["Subject"])


DMARC_PASS = (
    f"{TRUSTED}; dmarc=pass (p=none) header.from=example.it; spf=pass smtp.mailfrom=x@example.it"
)


def test_registered_address_without_authentication_is_linked_unverified(matching):
    process = make_process(matching)
    process(mail("Maria.Rossi@Example.it"))
    shown = case(matching)
    assert shown["contact"] == {
        "email": "maria.rossi@example.it",
        "name": "Rossi Maria Luisa",
        "generic": False,
        "codice_fiscale": "RSSMRA80A41H501Y",
        "verified": False,
        "reachable": True,
        "phone": None,
        "postal_address": None,
    }
    assert shown["match"] == {
        "rule": "registry_address",
        "confidence": 0.9,
        "state": "unverified",
        "candidates": [],
    }
    # Nothing from the registry goes back to a sender who may not be who the From says.
    text = confirmation_text(matching)
    assert "Luisa" not in text and "RSSMRA80A41H501Y" not in text


def test_trusted_dmarc_pass_links_the_registered_address(matching):
    make_process(matching)(mail("maria.rossi@example.it", auth=(DMARC_PASS,)))
    shown = case(matching)
    assert shown["contact"]["verified"] is True
    assert shown["match"]["state"] == "linked"
    [contact] = rows(matching, Contact)
    assert contact.taxpayer_id is not None


@pytest.mark.parametrize(
    "headers",
    [
        # Written by the sender: an authserv-id we do not trust.
        ("mx.evil.example; dmarc=pass header.from=example.it",),
        # Our server's verdict on top says fail; a forged pass below it does not count.
        (f"{TRUSTED}; dmarc=fail header.from=example.it", f"{TRUSTED}; dmarc=pass"),
        # DKIM passes, but for someone else's domain.
        (f"{TRUSTED}; dkim=pass header.d=mailer.example.com; spf=pass smtp.mailfrom=a@b.example",),
        (f"{TRUSTED}; this is ;; not = a header",),
    ],
)
def test_spoofed_or_unauthenticated_mail_stays_unverified(matching, headers):
    make_process(matching)(mail("maria.rossi@example.it", auth=headers))
    assert case(matching)["match"]["state"] == "unverified"
    assert case(matching)["contact"]["verified"] is False


def test_authentication_results_are_read_as_rfc_8601_says():
    check = authn.authenticate
    assert check(
        [f"{TRUSTED}; dkim=pass header.d=example.it"], "a@pec.example.it", [TRUSTED]
    ).authentic
    assert check(
        [f"{TRUSTED}; dkim=pass header.i=@example.it"], "a@example.it", [TRUSTED]
    ).authentic
    assert check(
        [f"{TRUSTED}; spf=pass smtp.mailfrom=b@example.it"], "a@example.it", [TRUSTED]
    ).authentic
    # The other way round needs the public-suffix list: left to DMARC.
    assert not check(
        [f"{TRUSTED}; dkim=pass header.d=mail.example.it"], "a@example.it", [TRUSTED]
    ).authentic
    assert not check([f"{TRUSTED}; dkim=pass header.d=example.it"], "a@example.it", []).authentic
    assert not check(
        [f"{TRUSTED}; dmarc=pass header.from=other.it"], "a@example.it", [TRUSTED]
    ).authentic


def test_a_mailbox_that_trusts_from_links(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        mailbox={"source": "maildir", "path": str(tmp_path / "maildir"), "trust_from": True},
    )
    services = make_services(config)
    path = tmp_path / "r.csv"
    path.write_text(REGISTRY)
    registry_import.import_file(services.engine, path, services.settings.registry)
    make_process(services)(mail("maria.rossi@example.it"))
    assert case(services)["match"]["state"] == "linked"


def test_a_verified_pec_sender_is_linked_by_the_pec_rule(tmp_path):
    signer = Signer(tmp_path / "provider")
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        mailbox={
            "source": "maildir",
            "path": str(tmp_path / "maildir"),
            "address": BOX,
            "pec": True,
        },
        mailbox_smtp={"host": "127.0.0.1", "from_address": BOX},
    )
    services = make_services(config)
    path = tmp_path / "r.csv"
    path.write_text(REGISTRY)
    registry_import.import_file(services.engine, path, services.settings.registry)
    make_process(services)(envelope(signer, "lucia.neri@pec.example.it"))
    shown = case(services)
    assert shown["match"]["rule"] == "pec_verified" and shown["match"]["state"] == "linked"
    assert shown["contact"]["codice_fiscale"] == "VRDLCU82P41L219G"
    assert shown["contact"]["verified"] is True


def test_a_code_written_in_the_message_is_a_claim_to_confirm(matching):
    body = "Sono Lucia Verdi, codice fiscale vrdlcu82p41l219g, e segnalo un disservizio."
    make_process(matching)(mail("lucia.v@example.net", body=body, name="Lucia"))
    shown = case(matching)
    assert shown["match"]["rule"] == "claimed_code" and shown["match"]["state"] == "to_confirm"
    assert shown["contact"]["codice_fiscale"] == "VRDLCU82P41L219G"
    [contact] = rows(matching, Contact)
    assert contact.taxpayer_id is None  # the address is not hers until someone confirms
    assert "Verdi Lucia" not in confirmation_text(matching)


def test_a_code_with_wrong_check_characters_or_unnamed_digits_is_ignored(matching):
    process = make_process(matching)
    process(mail("a@example.net", body="Il mio codice fiscale: VRDLCU82P41L219X", name=""))
    assert case(matching)["match"]["state"] == "generic"
    process(mail("b@example.net", body="Chiamatemi al 07654320014, grazie", name=""))
    assert case(matching)["match"]["state"] == "generic"
    process(mail("c@example.net", body="Scrivo per la ditta, P.IVA IT 07654320014", name=""))
    assert case(matching)["match"]["rule"] == "claimed_code"


def test_an_address_shared_by_a_family_is_ambiguous_with_candidates(matching):
    make_process(matching)(mail("famiglia@example.it", name="Famiglia"))
    shown = case(matching)
    assert shown["match"]["state"] == "ambiguous" and shown["contact"]["generic"] is True
    assert sorted(shown["match"]["candidates"]) == ["BNCMRA75C12F205Q", "VRDLCU82P41L219G"]
    [notification] = [o for o in rows(matching, OutboundMessage) if o.kind == "notification"]
    text = notification.raw.decode()
    assert "Bianchi Mario (BNC**********05Q)" in text  # the office sees who it might be
    assert "BNCMRA75C12F205Q" not in text  # a code in full stays in `workorders show`


def test_a_shared_address_with_a_code_in_the_text_is_a_claim(matching):
    body = "Scrivo per mio padre, Bianchi Mario, C.F. BNCMRA75C12F205Q."
    make_process(matching)(mail("famiglia@example.it", body=body, name="Famiglia"))
    shown = case(matching)
    assert shown["match"]["rule"] == "claimed_code"
    assert shown["contact"]["codice_fiscale"] == "BNCMRA75C12F205Q"


def test_a_similar_display_name_is_only_a_suggestion(matching):
    make_process(matching)(mail("m.l.rossi@example.net", name="Maria Luisa ROSSI"))
    shown = case(matching)
    assert shown["match"]["rule"] == "similar_name" and shown["match"]["state"] == "suggested"
    assert shown["match"]["candidates"] == ["RSSMRA80A41H501Y"]
    assert shown["contact"]["generic"] is True  # nothing linked on a name


def test_a_stranger_gets_a_generic_contact(matching):
    make_process(matching)(mail("nuovo@example.net", name="Paolo Neri"))
    shown = case(matching)
    assert shown["match"]["rule"] == MatchRule.GENERIC_CONTACT
    assert shown["contact"]["generic"] is True and shown["match"]["candidates"] == []


def test_rematch_after_a_registry_update_previews_then_applies(matching, tmp_path):
    process = make_process(matching)
    process(mail("paolo.neri@example.net", name="Paolo"))
    process(mail("maria.rossi@example.it", auth=(DMARC_PASS,)))  # linked: never rematched
    number = workorders_list(matching)[0]["number"]
    update = tmp_path / "update.csv"
    update.write_text(REGISTRY + "NREPLA70A01H501Z;Neri Paolo;paolo.neri@example.net;\n")
    registry_import.import_file(matching.engine, update, matching.settings.registry)

    [preview] = rematch.rematch(matching)
    assert preview.number == number
    assert preview.before == {"rule": "generic_contact", "state": "generic", "codice_fiscale": None}
    assert preview.after["codice_fiscale"] == "NREPLA70A01H501Z"
    assert preview.after["state"] == "unverified"
    assert case(matching, number)["match"]["state"] == "generic"  # a preview changes nothing

    [applied] = rematch.rematch(matching, apply=True)
    assert applied.number == number
    assert case(matching, number)["contact"]["codice_fiscale"] == "NREPLA70A01H501Z"
    assert rematch.rematch(matching) == []  # nothing left to change


def workorders_list(services):
    with Session(services.engine) as session:
        return views.list_work_orders(session, services.settings.timezone)


def test_an_operator_links_a_case_and_rematch_leaves_it_alone(matching):
    make_process(matching)(mail("famiglia@example.it", name="Famiglia"))
    number = case(matching)["number"]
    said = rematch.link(matching, number, "bncmra75c12f205q", "mario.rossi@comune.example.it")
    assert "BNCMRA75C12F205Q Bianchi Mario" in said
    shown = case(matching, number)
    assert shown["match"]["state"] == MatchState.CONFIRMED and shown["match"]["rule"] == "operator"
    assert rematch.rematch(matching) == []
    with pytest.raises(Exception, match="no taxpayer"):
        rematch.link(matching, number, "RSSMRA80A41H501X", "mario.rossi@comune.example.it")


def test_rematch_and_link_from_the_command_line(matching, tmp_path):
    make_process(matching)(mail("nuovo@example.net", name=""))
    config = str(matching.settings.source_path)
    preview = run_cli("--config", config, "rematch", "--json")
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout) == []
    number = case(matching)["number"]
    linked = run_cli(
        "--config",
        config,
        "workorders",
        "link",
        number,
        "07654320014",
        "--operator",
        "mario.rossi@comune.example.it",
    )
    assert linked.returncode == 0, linked.stderr
    assert "Edilizia Moderna Srl (confirmed)" in linked.stdout
    bad = run_cli("--config", config, "rematch", "--since", "ieri")
    assert bad.returncode == 2 and "--since: expected a day" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = run_cli(
        "--config", config, "workorders", "link", number, "XYZ", "--operator", "x@y.it"
    )
    assert unknown.returncode != 0 and "no taxpayer" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_every_rule_is_in_its_order():
    from mailbot.matching.matcher import RULES

    assert [r.name for r in RULES] == [
        MatchRule.PEC_VERIFIED,
        MatchRule.REGISTRY_ADDRESS,
        MatchRule.CLAIMED_CODE,
        MatchRule.AMBIGUOUS_ADDRESS,
        MatchRule.SIMILAR_NAME,
        MatchRule.GENERIC_CONTACT,
    ]


# The scan for claimed codes as it was first written: every position of the text tried for a
# claim. The faster scan (eleven-digit runs first) must find exactly the same codes.
_REFERENCE_PIVA = re.compile(
    r"(?:p(?:artita)?\.?\s*i(?:va)?\.?|c(?:odice)?\.?\s*f(?:iscale)?\.?|vat|iva)"
    r"[\s:n.°º#-]{0,6}(?:IT)?\s?(\d{11})(?!\d)",
    re.IGNORECASE,
)
_REFERENCE_CF = re.compile(
    r"(?<![A-Z0-9])[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
    r"[0-9LMNPQRSTUV]{3}[A-Z](?![A-Z0-9])",
    re.IGNORECASE,
)


def _reference_claimed(text):
    found = {}
    for match in _REFERENCE_CF.finditer(text):
        if code := normalise_code(match.group(0)):
            found.setdefault(code, match.start())
    for match in _REFERENCE_PIVA.finditer(text):
        if code := normalise_code(match.group(1)):
            found.setdefault(code, match.start(1))
    return sorted(found, key=found.__getitem__)


def test_the_fast_scan_for_claimed_codes_finds_what_the_full_scan_finds():
    rng = random.Random(19)
    pieces = [
        "P.IVA", "p. iva", "Partita IVA n.", "partita iva:", "C.F.", "codice fiscale", "cf",
        "VAT", "IVA", "IT", " ", "  ", "-", "#", "°", "\n", "la ditta", "xpartita", "12",
        "07654320014", "IT07654320014", "076543200140", "0765432001", "12345678903",
        "RSSMRA85T10A562S", "rssmra85t10a562s", "BNCMRA75C12F205R", "RSSMRA85T10A562SX",
    ]  # fmt: skip
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert claimed_codes(text) == _reference_claimed(text), text


def test_check_characters_agree_with_stdnum():
    """`normalise_code` restates stdnum's check-character rules for speed: the same answers
    on valid codes, on every wrong check character and on random digits."""
    from stdnum.it import codicefiscale, iva

    from mailbot.matching import codes

    assert codicefiscale._odd_values == codes._CF_ODD
    assert codicefiscale._even_values == codes._CF_EVEN
    rng = random.Random(11)
    letters, omocodia = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789LMNPQRSTUV"
    for _ in range(300):
        head = "".join(rng.choice(letters) for _ in range(6))
        body = "".join(rng.choice(omocodia) for _ in range(2)) + rng.choice("ABCDEHLMPRST")
        body += "".join(rng.choice(omocodia) for _ in range(2)) + rng.choice(letters)
        base = head + body + "".join(rng.choice(omocodia) for _ in range(3))
        right = codicefiscale.calc_check_digit(base)  # what normalise_code checked before
        for last in letters:
            assert (normalise_code(base + last) is not None) == (last == right)
    for _ in range(20000):
        digits = f"{rng.randrange(10**11):011d}"
        if rng.random() < 0.3:
            digits = digits[:7] + rng.choice(["000", "001", "100", "101", "120", "888", "999"])
            digits += digits[-1]
        assert (normalise_code(digits) == digits) == iva.is_valid(digits), digits
    assert normalise_code("0" * 7 + "0010000") is None
    assert normalise_code("١٢٣٤٥٦٧٨٩٠١") is None  # digits, but not ASCII ones


def test_name_tokens_folded_word_by_word_equal_the_whole_name_folded():
    from mailbot.matching.codes import _NAME_NOISE, fold, name_tokens

    for name in [
        "D'Àngelo  Niccolò",
        "Rossi Costruzioni S.R.L.",
        "Ærø Ǆemal ﬁore ½ Mario",
        "A\u00a8b Cœur-De Lion",
        "Über. Straße Ōno",
        "",
    ]:
        whole = fold(name.replace(".", ""))
        assert name_tokens(name) == {
            w for w in whole.split() if len(w) >= 3 and w not in _NAME_NOISE
        }
