"""Configuration: every mistake is one line naming the key, exit code 2, no traceback."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mailbot import config
from mailbot.errors import ConfigError

from support.app import REPO, run_cli, write_config


def load_text(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config.load(path)


def base_toml(tmp_path: Path) -> str:
    return write_config(tmp_path / "base.toml").read_text()


def test_example_config_is_valid_and_uses_the_documented_keys(monkeypatch):
    settings = config.load(REPO / "config.example.toml")
    assert settings.timezone.key == "Europe/Rome"
    assert settings.language == "it"
    assert settings.database.url == "sqlite:///var/mailbot.db"
    assert settings.storage.path == Path("var/store")
    assert settings.smtp.from_address == "suggerimenti@comune.example.it"
    [mailbox] = settings.mailboxes
    assert (mailbox.name, mailbox.source, mailbox.folder, mailbox.office) == (
        "suggerimenti",
        "imap",
        "INBOX",
        "urp",
    )
    assert mailbox.password.env == "MAILBOT_IMAP_PASSWORD"
    assert settings.office("urp").response_days == 30
    assert settings.office("urp").operators == ("mario.rossi@comune.example.it",)


def test_every_key_the_code_reads_is_documented_in_the_example():
    text = (REPO / "config.example.toml").read_text()
    documented = set()
    for line in text.splitlines():
        stripped = line.lstrip("# ").split("=")[0].strip()
        if stripped and "=" in line:
            documented.add(stripped)
        elif line.startswith("["):
            documented.add(line.strip("[] ").split(".")[-1])  # [registry.columns]: columns
    source = "".join(p.read_text() for p in (REPO / "mailbot" / "config").glob("*.py"))

    read = set(
        re.findall(
            r'\.(?:text|email|integer|number|flag|str_list|table|tables)\(\s*"([a-z_]+)"', source
        )
    )
    read |= {"password_env", "password_file"}
    assert len(read) > 60  # every reader module was read
    assert read - documented == set()
    tomllib.loads(text)  # and it parses


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.replace("port = 25", 'port = "twenty-five"'),
            "smtp.port: expected a whole number, got str 'twenty-five'",
        ),
        (
            lambda t: t.replace("port = 25", "port = 70000"),
            "smtp.port: must be between 1 and 65535, got 70000",
        ),
        (
            lambda t: t.replace('office = "urp"', 'office = "tributi"'),
            "mailboxes[0].office: no office with id 'tributi' (known: urp)",
        ),
        (
            lambda t: t.replace(
                'from_address = "suggerimenti@comune.example.it"', 'from_address = "nobody"'
            ),
            "smtp.from_address: 'nobody' is not an email address",
        ),
        (lambda t: t.replace("[smtp]", '[smtp]\nhots = "x"'), "smtp.hots: unknown key"),
        (
            lambda t: t.replace('timezone = "Europe/Rome"', 'timezone = "Europe/Atlantis"'),
            "timezone: unknown time zone 'Europe/Atlantis'",
        ),
        (
            lambda t: t.replace("[smtp]", '[smtp]\npassword = "hunter2"'),
            "smtp.password: inline passwords are not accepted",
        ),
        (
            lambda t: t.replace('transport = "smtp"', 'transport = "pigeon"'),
            "outbox.transport: must be one of smtp, directory, got 'pigeon'",
        ),
        (
            lambda t: t.replace("response_days = 30", "response_days = 0"),
            "offices[0].response_days: must be between 1 and 365, got 0",
        ),
        (
            lambda t: t.replace("[database]\nurl", "[database]\nlease_seconds = 20\n#url"),
            "database.url: missing (required)",
        ),
        (
            lambda t: (
                t
                + '\n[[mailboxes]]\nname = "suggerimenti"\noffice = "urp"\nsource = "maildir"\npath = "x"\n'
            ),
            "mailboxes[1].name: mailbox 'suggerimenti' is defined twice",
        ),
        (
            lambda t: t.replace(
                'source = "maildir"', 'source = "maildir"\nhost = "imap.example.it"'
            ),
            "mailboxes[0].host: not used with source = 'maildir'",
        ),
        (lambda t: t.replace("[[offices]]", "x = [1,\n[[offices]]"), "not valid TOML"),
    ],
)
def test_bad_values_name_the_key_and_the_problem(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, change(base_toml(tmp_path)))
    assert message in str(caught.value)


def test_missing_password_variable_is_reported_when_needed_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    text = base_toml(tmp_path).replace(
        "[smtp]", '[smtp]\nusername = "u"\npassword_env = "NO_SUCH_VARIABLE"'
    )
    settings = load_text(tmp_path, text)  # loading needs no secret
    with pytest.raises(
        ConfigError, match=r"^smtp.password_env: environment variable NO_SUCH_VARIABLE is not set$"
    ):
        settings.smtp.password.reveal()


def test_password_file_is_read_and_never_shown(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("correct horse\n")
    text = base_toml(tmp_path).replace("[smtp]", f'[smtp]\npassword_file = "{secret}"')
    settings = load_text(tmp_path, text)
    assert settings.smtp.password.reveal() == "correct horse"
    assert "correct horse" not in repr(settings)


def test_cli_reports_a_bad_key_in_one_line_with_exit_code_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(base_toml(tmp_path).replace("response_days = 30", 'response_days = "trenta"'))
    result = run_cli("--config", str(path), "workorders", "list")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mailbot: offices[0].response_days: expected a whole number, got str 'trenta'"
    )
    assert "Traceback" not in result.stderr


def test_cli_reports_a_missing_config_file(tmp_path):
    result = run_cli("workorders", "list", env={"MAILBOT_CONFIG": str(tmp_path / "nope.toml")})
    assert result.returncode == 2
    assert "nope.toml not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_renders_every_template_and_names_a_broken_one(tmp_path):
    import shutil

    (tmp_path / "maildir").mkdir()
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "maildir" / sub).mkdir()
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert run_cli("--config", str(config), "db", "upgrade").returncode == 0
    good = run_cli("--config", str(config), "check")
    assert good.returncode == 0, good.stdout
    assert "ok    templates:" in good.stdout and "every message renders (it, en)" in good.stdout
    assert "ok    openssl:" in good.stdout
    custom = tmp_path / "templates"
    shutil.copytree(REPO / "templates", custom)
    (custom / "en" / "relay.txt.j2").write_text("{{ body }} {% if %}")
    config.write_text(
        config.read_text().replace(
            'timezone = "Europe/Rome"', f'timezone = "Europe/Rome"\ntemplates_path = "{custom}"'
        )
    )
    bad = run_cli("--config", str(config), "check")
    assert bad.returncode == 1
    [line] = [ln for ln in bad.stdout.splitlines() if "templates" in ln]
    assert line.startswith("FAIL  templates: en/relay: template en/relay.txt.j2:")
    assert "Traceback" not in bad.stdout + bad.stderr


def test_the_example_pec_mailbox_has_its_own_account(tmp_path, monkeypatch):
    """The commented PEC block of config.example.toml, switched on, is a valid mailbox."""
    text = (REPO / "config.example.toml").read_text()
    start = text.index('# name = "pec"')
    lines = text[start : text.index("\n\n", start)].splitlines()
    keys = [re.sub(r"\s+#.*$", "", ln[2:]) for ln in lines if re.match(r"# (\[|[a-z_]+ = )", ln)]
    enabled = text.replace(
        "[conversations]", "[[mailboxes]]\n" + "\n".join(keys) + "\n\n[conversations]"
    )
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", "x")
    monkeypatch.setenv("MAILBOT_PEC_PASSWORD", "y")
    settings = load_text(tmp_path, enabled)
    box = settings.mailbox("pec")
    assert box.pec and box.smtp is not None
    assert (box.smtp.host, box.smtp.port, box.smtp.security) == (
        "smtps.pec.example-provider.it",
        465,
        "tls",
    )
    assert box.smtp.from_address == box.address == "protocollo@pec.comune.example.it"
    assert box.smtp.password.reveal() == "y"


def test_a_pec_mailbox_without_its_own_account_is_refused(tmp_path):
    text = base_toml(tmp_path).replace('office = "urp"\n', 'office = "urp"\npec = true\n', 1)
    with pytest.raises(ConfigError, match=r"^mailboxes\[0\]\.smtp: missing \(required with pec"):
        load_text(tmp_path, text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.replace("[smtp]", "[smpt]"),
            "smpt: unknown table (did you mean [smtp]?)",
        ),
        (
            lambda t: t.replace(
                'timezone = "Europe/Rome"', 'timezone = "Europe/Rome"\ntimezon = 1'
            ),
            "timezon: unknown key (did you mean timezone?)",
        ),
        (
            lambda t: t + "\n[limts]\nper_case = 3\n",
            "limts: unknown table (did you mean [limits]?)",
        ),
        (lambda t: t + "\n[frobnicate]\nx = 1\n", "frobnicate: unknown table"),
        (
            lambda t: t.replace("[database]\nurl", "[database]\nulr"),
            "database.ulr: unknown key (did you mean url?)",
        ),
        (
            lambda t: t.replace("[smtp]", "[smtp]\nprot = 26"),
            "smtp.prot: unknown key (did you mean port?)",
        ),
    ],
)
def test_a_misspelt_table_or_key_is_named_as_unknown_with_a_suggestion(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, change(base_toml(tmp_path)))
    assert str(caught.value) == message


def test_check_and_run_refuse_a_misspelt_table_the_same_way_with_exit_code_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(base_toml(tmp_path).replace("[smtp]", "[smpt]"))
    checked = run_cli("--config", str(path), "check")
    assert checked.returncode == 2
    assert "smpt: unknown table (did you mean [smtp]?)" in checked.stdout
    assert "missing" not in checked.stdout
    ran = run_cli("--config", str(path), "run", "--once")
    assert ran.returncode == 2
    assert ran.stderr.strip() == "mailbot: smpt: unknown table (did you mean [smtp]?)"


def test_default_categories_are_a_municipalitys_with_italian_ids_and_names(tmp_path):
    categories = load_text(tmp_path, base_toml(tmp_path)).charter.categories
    ids = [c.id for c in categories]
    assert ids == [
        "ritardo",
        "personale",
        "informazioni",
        "accesso",
        "strade",
        "rifiuti",
        "verde",
        "tributi",
        "altro",
    ]
    water = {"late_reply", "billing_error", "water_quality", "missed_appointment", "other"}
    assert not water & set(ids)
    by_id = {c.id: c for c in categories}
    assert by_id["altro"].name == "Altro" and by_id["altro"].name_en == "Other"
    assert by_id["strade"].name == "Strade, marciapiedi e illuminazione"
    for c in categories:  # a label for people, never the id again
        assert c.name[0].isupper() and c.name != c.id and c.name_en != c.name
        assert c.keywords == () and c.refund_eur == 0  # nothing decided for the institution


def test_the_example_water_utility_categories_switched_on_are_valid(tmp_path):
    """config.example.toml carries a water utility's categories, commented out."""
    text = (REPO / "config.example.toml").read_text()
    block = text[text.index("# BEGIN water utility") : text.index("# END water utility")]
    switched_on = "\n".join(line.removeprefix("# ") for line in block.splitlines()[1:])
    categories = load_text(tmp_path, base_toml(tmp_path) + "\n" + switched_on).charter.categories
    assert len(categories) == 11
    assert [c.id for c in categories][:2] == ["ritardo_risposta", "appuntamento"]
    billing = next(c for c in categories if c.id == "fatturazione")
    assert billing.name == "Errore di fatturazione" and "bolletta" in billing.keywords
    example = config.load(REPO / "config.example.toml")
    assert [c.id for c in example.charter.categories] == ["strade", "tributi", "altro"]
    assert example.office("urp").terms["tributi"].days == 15


def _switched_on(name: str) -> str:
    text = (REPO / "config.example.toml").read_text()
    block = text[text.index(f"# BEGIN {name}") : text.index(f"# END {name}")]
    return "\n".join(line.removeprefix("# ") for line in block.splitlines()[1:])


def test_the_example_municipality_staff_switched_on_is_valid(tmp_path):
    """config.example.toml's municipality: the URP over every office, a Dirigente who
    approves, operators; the office's own address still speaks for it."""
    settings = load_text(tmp_path, base_toml(tmp_path) + "\n" + _switched_on("municipality"))
    found = settings.directory
    assert settings.office("lavori_pubblici").approval is True
    urp = found.member("marta.sala@comune.example.it")
    assert urp is not None and urp.roles == {"supervisor"} and urp.oversees("lavori_pubblici")
    boss = found.member("dirigente.lp@comune.example.it")
    assert boss is not None and boss.name.startswith("ing. Paolo Bruni")
    assert boss.speaks_for("lavori_pubblici") and boss.may("case.approve")
    operators = found.of_office("lavori_pubblici", "operator")
    assert {m.address for m in operators} == {
        "giulia.costa@comune.example.it",
        "luca.ferri@comune.example.it",
        "lavori.pubblici@comune.example.it",  # the office's own address, as always
    }
    assert not any(m.may("case.approve") for m in operators)
    archive = found.member("urp.archivio@comune.example.it")  # copy_to: a supervisor
    assert archive is not None and archive.roles == {"supervisor"}


def test_the_example_desk_network_switched_on_is_valid(tmp_path):
    """config.example.toml's regional agency: a centre, two desks with members, the
    competent office, a desk's own mailbox."""
    settings = load_text(tmp_path, base_toml(tmp_path) + "\n" + _switched_on("desk network"))
    found = settings.directory
    assert set(settings.desks) == {"nord", "sud"}
    assert settings.mailbox("sportello_nord").desk == "nord"
    assert [m.name for m in found.of_desk("nord")] == ["Sportello Nord"]
    assert found.member("marco.galli@agenzia.example.it").at_desk("nord")
    riva = found.member("elena.riva@agenzia.example.it")
    assert riva is not None and riva.at_desk("sud") and not riva.at_desk("nord")
    assert not riva.speaks_for("servizio_tecnico") and riva.may("case.relay")
    centre = found.member("centro@agenzia.example.it")
    assert centre is not None and centre.may("case.see.all")
    assert [m.address for m in found.supervisors_of("servizio_tecnico")] == [
        "centro@agenzia.example.it"
    ]
    assert found.member("davide.conti@agenzia.example.it").speaks_for("servizio_tecnico")


def test_the_example_names_its_dirigente_as_the_offices_responsible():
    found = config.load(REPO / "config.example.toml").directory
    boss = found.member("dirigente.urp@comune.example.it")
    assert boss is not None and boss.source == "config" and boss.name == "dott.ssa Anna Neri"
    assert boss.roles == {"responsible"} and boss.speaks_for("urp")
    mario = found.member("mario.rossi@comune.example.it")  # the operators list, as always
    assert mario is not None and mario.source == "operators" and mario.speaks_for("urp")
