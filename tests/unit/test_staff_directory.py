"""The staff directory (issue 29): `[[staff]]` and `[[desks]]` in the configuration, the
members today's `operators`, `email`, `manager` and `copy_to` imply, the members kept in the
database (`mailbot staff add|remove|list|import`), and the role table `mailbot staff roles`
prints and README shows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event
from sqlmodel import Session

from mailbot import config
from mailbot.admin import staff
from mailbot.cases.staff import directory, is_staff_address, stored_members
from mailbot.errors import ConfigError, InputError
from mailbot.models import Event, StaffAddress, StaffMember
from mailbot.roles import PERMISSIONS, ROLES, describe

from support.app import REPO, make_services, rows, run_cli, write_config

OFFICES = """
[[desks]]
id = "nord"
name = "Sportello Nord"
email = "sportello.nord@agenzia.example.it"

[[offices]]
id = "tributi"
name = "Ufficio Tributi"
email = "tributi@comune.example.it"
operators = ["luca.verdi@comune.example.it", "Anna.Neri@Comune.example.it"]
manager = "dirigente.tributi@comune.example.it"
copy_to = "urp@comune.example.it"
response_days = 30
"""


def configured(tmp_path, extra="", offices=OFFICES):
    (tmp_path / "maildir").mkdir(parents=True, exist_ok=True)
    path = write_config(tmp_path / "mailbot.toml", transport="directory")
    path.write_text(path.read_text() + offices + extra)
    return path


def load(tmp_path, extra="", offices=OFFICES):
    return config.load(configured(tmp_path, extra, offices))


# --- the configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'email = "a@comune.example.it"\nroles = ["boss"]',
            "staff[0].roles: no role 'boss' (known: operator, responsible, supervisor, desk, "
            "admin)",
        ),
        (
            'email = "a@comune.example.it"\nroles = ["operator"]',
            "staff[0].offices: an operator or responsible needs its offices",
        ),
        (
            'email = "a@comune.example.it"\nroles = ["desk"]\ndesks = ["sud"]',
            "staff[0].desks: no desk 'sud' (known: nord)",
        ),
        (
            'email = "a@comune.example.it"\nroles = ["desk"]',
            "staff[0].desks: a desk member needs its desk",
        ),
        (
            'email = "a@comune.example.it"\nroles = ["operator"]\noffices = ["anagrafe"]',
            "staff[0].offices: no office 'anagrafe' (known: urp, tributi)",
        ),
        (
            'email = "a@comune.example.it"\nroles = ["supervisor"]\n'
            '[[staff]]\naddresses = ["b@comune.example.it", "A@comune.example.it"]\n'
            'roles = ["supervisor"]',
            "staff[1].addresses: 'a@comune.example.it' is already staff[0]'s address",
        ),
        ('roles = ["supervisor"]', "staff[0]: give the member's email (or addresses = [...])"),
        (
            'email = "a@comune.example.it"\nroles = ["supervisor"]\nofice = ["urp"]',
            "staff[0].ofice: unknown key (did you mean offices?)",
        ),
    ],
)
def test_a_wrong_staff_entry_is_refused_naming_its_key(tmp_path, entry, message):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "\n[[staff]]\n" + entry + "\n")
    assert str(caught.value) == message


def test_offices_keys_imply_operators_a_responsible_and_a_supervisor(tmp_path):
    found = load(tmp_path).directory
    luca = found.member("Luca.Verdi@comune.example.it")
    assert luca is not None and luca.roles == {"operator"} and luca.offices == ("tributi",)
    assert luca.source == "operators" and luca.speaks_for("tributi")
    assert not luca.speaks_for("urp")
    assert found.member("anna.neri@comune.example.it") is not None  # lower-cased
    office = found.member("tributi@comune.example.it")  # the office's own address
    assert office is not None and office.speaks_for("tributi")
    boss = found.member("dirigente.tributi@comune.example.it")
    assert boss is not None and boss.roles == {"responsible"} and boss.may("case.approve")
    urp = found.member("urp@comune.example.it")  # urp's own address and tributi's copy_to
    assert urp is not None and urp.roles == {"operator", "supervisor"}
    assert urp.speaks_for("urp") and urp.oversees("tributi")
    # tributi's copy_to oversees tributi; it does not speak for it, nor oversee its own urp
    assert not urp.speaks_for("tributi") and not urp.oversees("urp")
    assert urp.roles_on("tributi") == {"supervisor"} and urp.roles_on("urp") == {"operator"}
    assert [m.address for m in found.supervisors_of("tributi")] == ["urp@comune.example.it"]
    assert not found.is_staff("citizen@example.net")


def test_a_desks_own_address_is_a_member_of_that_desk(tmp_path):
    found = load(tmp_path).directory
    box = found.member("Sportello.Nord@agenzia.example.it")
    assert box is not None and box.roles == {"desk"} and box.at_desk("nord")
    assert not box.at_desk("sud") and not box.speaks_for("tributi")
    assert [m.address for m in found.of_desk("nord")] == ["sportello.nord@agenzia.example.it"]


def test_a_config_with_only_operators_lists_means_what_it_always_meant(tmp_path):
    """The same offices written with [[staff]] entries give the same answers."""
    implied = load(tmp_path / "a").directory
    bare = OFFICES.replace(
        'operators = ["luca.verdi@comune.example.it", "Anna.Neri@Comune.example.it"]\n'
        'manager = "dirigente.tributi@comune.example.it"\n'
        'copy_to = "urp@comune.example.it"\n',
        "",
    )
    assert "operators" not in bare and "copy_to" not in bare
    explicit = load(
        tmp_path / "b",
        """
[[staff]]
email = "luca.verdi@comune.example.it"
roles = ["operator"]
offices = ["tributi"]
[[staff]]
email = "anna.neri@comune.example.it"
roles = ["operator"]
offices = ["tributi"]
[[staff]]
email = "dirigente.tributi@comune.example.it"
roles = ["responsible"]
offices = ["tributi"]
[[staff]]
email = "urp@comune.example.it"
roles = ["operator", "supervisor"]
offices = ["urp"]
oversees = ["tributi"]
""",
        bare,
    ).directory
    assert implied.addresses() == explicit.addresses()
    for address in implied.addresses():
        a, b = implied.member(address), explicit.member(address)
        assert a is not None and b is not None
        assert (a.roles, a.offices, a.reach) == (b.roles, b.offices, b.reach)
        for office in ("urp", "tributi"):
            assert a.roles_on(office) == b.roles_on(office)
    assert explicit.member("luca.verdi@comune.example.it").source == "config"
    for office in ("urp", "tributi"):
        for role in ROLES:
            left = {m.address for m in implied.of_office(office, role)}
            assert left == {m.address for m in explicit.of_office(office, role)}


def test_a_staff_entry_takes_its_address_from_the_implied_members(tmp_path):
    settings = load(
        tmp_path,
        '\n[[staff]]\nname = "Luca Verdi"\nemail = "luca.verdi@comune.example.it"\n'
        'roles = ["desk"]\ndesks = ["nord"]\n',
    )
    luca = [m for m in settings.staff if "luca.verdi@comune.example.it" in m.addresses]
    assert len(luca) == 1 and luca[0].name == "Luca Verdi" and luca[0].at_desk("nord")
    assert not luca[0].speaks_for("tributi")


# --- the database's members --------------------------------------------------------------


@pytest.fixture
def office(tmp_path):
    services = make_services(configured(tmp_path))
    yield services
    services.engine.dispose()


def member(settings, **values):
    values = {"name": "", "roles": ["operator"], "offices": ["tributi"], **values}
    return staff.validate(settings, **values)


def test_a_stored_member_joins_the_directory_in_one_query_until_removed(office):
    settings = office.settings
    with Session(office.engine) as session, session.begin():
        staff.add(
            settings,
            session,
            member(settings, name="Paola Gialli", addresses=["Paola.Gialli@Comune.example.it"]),
            "admin",
        )
        staff.add(
            settings,
            session,
            member(
                settings,
                addresses=["s1@x.it", "s2@x.it"],
                roles=["desk"],
                offices=[],
                desks=["nord"],
            ),
            "admin",
        )
    statements = []
    event.listen(office.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(office.engine) as session:
        found = directory(office, session)
    assert len(statements) == 1
    paola = found.member("paola.gialli@comune.example.it")
    assert paola is not None and paola.source == "database" and paola.speaks_for("tributi")
    desk = found.member("S2@x.it")
    assert desk is not None and desk.addresses == ("s1@x.it", "s2@x.it") and desk.at_desk("nord")
    assert found.member("luca.verdi@comune.example.it").source == "operators"  # config kept
    # the per-mail question, asked of the index, says what the whole directory says
    office_address = next(iter(settings.offices.values())).email
    probes = ["paola.gialli@comune.example.it", "s2@x.it", "luca.verdi@comune.example.it",
              office_address, "stranger@example.org"]  # fmt: skip
    with Session(office.engine) as session:
        everyone = found.addresses() | {o.email for o in settings.offices.values()}
        assert (
            [is_staff_address(office, session, a) for a in probes]
            == [a in everyone for a in probes]
            == [True, True, True, True, False]
        )
    with Session(office.engine) as session, session.begin():
        staff.remove(settings, session, "PAOLA.gialli@comune.example.it", "admin")
    with Session(office.engine) as session:
        assert [m.address for m in stored_members(session)] == ["s1@x.it"]
        assert not directory(office, session).is_staff("paola.gialli@comune.example.it")
        assert not is_staff_address(office, session, "paola.gialli@comune.example.it")
    [row] = [r for r in rows(office, StaffMember) if r.name == "Paola Gialli"]
    assert row.disabled_at is not None and row.created_by == "admin"  # kept, disabled
    kinds = [(e.kind, e.actor) for e in rows(office, Event)]
    assert kinds == [("staff.added", "admin")] * 2 + [("staff.removed", "admin")]
    data = json.loads(rows(office, Event)[0].data)
    assert data["addresses"] == ["p***@comune.example.it"] and data["roles"] == "operator"


def test_an_address_someone_has_is_refused_naming_who(office):
    settings = office.settings
    with Session(office.engine) as session, session.begin():
        staff.add(settings, session, member(settings, name="Paola", addresses=["p@x.it"]), "a")
    for address, who in (
        ("luca.verdi@comune.example.it", "named by an office's operators"),
        ("P@X.it", "Paola (added with mailbot staff)"),
    ):
        refused = pytest.raises(InputError, match=r"^--email: .* already belongs to")
        with Session(office.engine) as session, session.begin(), refused as caught:
            staff.add(settings, session, member(settings, addresses=[address]), "a")
        assert who in str(caught.value)
    with Session(office.engine) as session, session.begin():
        staff.remove(settings, session, "p@x.it", "a")
    with Session(office.engine) as session, session.begin():  # a removed member's is free
        staff.add(settings, session, member(settings, name="Piero", addresses=["p@x.it"]), "a")
    assert [a.address for a in rows(office, StaffAddress)] == ["p@x.it"]
    with Session(office.engine) as session:
        assert directory(office, session).member("p@x.it").name == "Piero"


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_config(tmp_path):
    path = configured(tmp_path)
    assert run_cli("--config", str(path), "db", "upgrade").returncode == 0
    return path


def mb(path, *args):
    return run_cli("--config", str(path), "staff", *args)


def listed(path, *args):
    done = mb(path, "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    return {m["addresses"][0]: m for m in json.loads(done.stdout)}


def test_add_list_and_remove_from_the_command_line(cli_config):
    added = mb(
        cli_config,
        "add",
        "--email",
        "Paola.Gialli@comune.example.it",
        "--email",
        "pg@comune.example.it",
        "--name",
        "Paola Gialli",
        "--role",
        "operator",
        "--role",
        "responsible",
        "--office",
        "tributi",
        "--by",
        "segreteria",
    )
    assert added.returncode == 0, added.stderr
    assert "added Paola Gialli: operator, responsible (tributi)" in added.stdout
    everyone = listed(cli_config)
    paola = everyone["paola.gialli@comune.example.it"]
    assert paola == {
        "name": "Paola Gialli",
        "addresses": ["paola.gialli@comune.example.it", "pg@comune.example.it"],
        "roles": ["operator", "responsible"],
        "offices": ["tributi"],
        "desks": [],
        "source": "database",
    }
    assert everyone["mario.rossi@comune.example.it"]["source"] == "operators"
    assert "mario.rossi@comune.example.it" not in listed(cli_config, "--office", "tributi")
    assert "urp@comune.example.it" in listed(cli_config, "--office", "tributi")  # copy_to
    table = mb(cli_config, "list", "--office", "tributi").stdout.splitlines()
    assert table[0].split() == ["MEMBER", "ADDRESSES", "ROLES", "OFFICES/DESKS", "SOURCE"]
    assert any(line.startswith("Paola Gialli") and "database" in line for line in table)
    removed = mb(cli_config, "remove", "PG@comune.example.it")
    assert removed.returncode == 0 and "removed Paola Gialli" in removed.stdout
    assert "paola.gialli@comune.example.it" not in listed(cli_config)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "--email", "a@x.it", "--role", "boss"), "--role: no role 'boss' (known: "),
        (("add", "--email", "a@x.it", "--role", "operator"), "--office: an operator or"),
        (("add", "--email", "a@x.it", "--role", "desk", "--desk", "sud"), "--desk: no desk"),
        (("add", "--email", "nobody", "--role", "supervisor"), "--email: 'nobody' is not an"),
        (
            ("add", "--email", "mario.rossi@comune.example.it", "--role", "supervisor"),
            "--email: 'mario.rossi@comune.example.it' already belongs to",
        ),
        (("remove", "mario.rossi@comune.example.it"), "ADDRESS: 'mario.rossi@comune.example.it' b"),
        (("list", "--office", "anagrafe"), "--office: no office 'anagrafe' (known: urp"),
        (("import", "missing.csv"), "FILE: missing.csv: cannot read"),
    ],
)
def test_a_mistake_on_the_command_line_is_one_line_and_exit_code_2(cli_config, args, message):
    done = mb(cli_config, *args)
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(f"mailbot: {message}") and "Traceback" not in done.stderr


def test_import_adds_then_updates_and_never_duplicates(cli_config, tmp_path):
    good = tmp_path / "staff.csv"
    good.write_text(
        "\ufeffName;Email;Roles;Offices;Desks\r\n"
        "Paola Gialli;paola.gialli@comune.example.it, pg@comune.example.it;operator;tributi;\r\n"
        '"Sportello, Nord";anna.nord@agenzia.example.it;desk;;nord\r\n'
        "\r\n"
        "Centro;centro@agenzia.example.it;supervisor;;\r\n",
        encoding="utf-8",
    )
    dry = mb(cli_config, "import", str(good), "--dry-run")
    assert dry.stdout.strip() == "dry run, nothing changed: added 3, updated 0, unchanged 0"
    assert len(listed(cli_config)) == 7  # only the configuration's (the desk's own address too)
    first = mb(cli_config, "import", str(good))
    assert first.stdout.strip() == "added 3, updated 0, unchanged 0", first.stderr
    everyone = listed(cli_config)
    assert everyone["anna.nord@agenzia.example.it"]["name"] == "Sportello, Nord"
    assert everyone["anna.nord@agenzia.example.it"]["desks"] == ["nord"]
    assert everyone["centro@agenzia.example.it"]["roles"] == ["supervisor"]
    good.write_text(good.read_text().replace("operator;tributi", "responsible;tributi,urp"))
    again = mb(cli_config, "import", str(good))
    assert again.stdout.strip() == "added 0, updated 1, unchanged 2", again.stderr
    paola = listed(cli_config, "--office", "urp")["paola.gialli@comune.example.it"]
    assert paola["roles"] == ["responsible"] and paola["offices"] == ["tributi", "urp"]
    assert len(listed(cli_config)) == 10


def test_one_bad_line_and_nothing_is_imported_each_named_with_its_line(cli_config, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,email,roles,offices,desks\n"
        "Paola,paola@comune.example.it,operator,tributi,\n"
        "X,x@x.it,boss,,\n"
        'Mario,"mario.rossi@comune.example.it;\nmr@x.it",operator,urp,\n'
        "Z,z@x.it,operator,,\n"
        "W,w@x.it,desk,,sud\n"
        "V,paola@comune.example.it,supervisor,,\n"
        "U,u@x.it,supervisor,,,extra\n"
        "T,=cmd|'/c calc'!A1,operator,urp,\n",
        encoding="utf-8",
    )
    done = mb(cli_config, "import", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "line 3: roles: no role 'boss' (known: operator, responsible, supervisor, desk, admin)",
        "line 4: email: 'mario.rossi@comune.example.it' already belongs to the member "
        "mario.rossi@comune.example.it (named by an office's operators, email, manager or "
        "copy_to)",
        "line 6: offices: an operator or responsible needs its offices",
        "line 7: desks: no desk 'sud' (known: nord)",
        "line 8: email: 'paola@comune.example.it' already on line 2",
        "line 9: 6 fields, the header has 5",
        'line 10: email: "=cmd|\'/c" is not an email address',
        f"mailbot: {bad}: 7 bad line(s), nothing imported",
    ]
    assert "paola@comune.example.it" not in listed(cli_config)
    header = tmp_path / "header.csv"
    header.write_text("nome,email,roles\nPaola,p@x.it,supervisor\n")
    wrong = mb(cli_config, "import", str(header))
    assert wrong.returncode == 2 and "FILE: line 1: no column 'nome'" in wrong.stderr


def test_staff_roles_prints_every_role_and_permission_in_either_language():
    for language, index in (("en", 1), ("it", 0)):
        done = run_cli("staff", "roles", "--language", language)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].split() == ["ROLE", "MAY"]
        printed: dict[str, list[str]] = {}
        for line in lines[1:]:
            role, what = line[:13].strip(), line[13:].strip()
            printed.setdefault(role or list(printed)[-1], []).append(what)
        assert list(printed) == list(ROLES)
        for role, granted in ROLES.items():
            assert printed[role] == [t[index] for p, t in PERMISSIONS.items() if p in granted]
        assert len(printed["admin"]) == len(PERMISSIONS)
    wrong = run_cli("staff", "roles", "--language", "de")
    assert wrong.returncode == 2 and "Invalid value" in wrong.stderr


def test_readme_shows_the_role_table_as_staff_roles_prints_it():
    from mailbot.cli.staff import roles_markdown

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Staff and roles") :]
    assert roles_markdown(describe("en")) in section
    assert run_cli("staff", "roles", "--markdown").stdout.strip() == roles_markdown(describe("en"))


def test_every_staff_command_answers_help_at_once():
    # In a process of its own: the CLI sets up logging, which must not leak into other tests.
    for name, usage in (
        ("roles", "[OPTIONS]"),
        ("list", "[OPTIONS]"),
        ("add", "[OPTIONS]"),
        ("remove", "[OPTIONS] ADDRESS"),
        ("import", "[OPTIONS] FILE"),
    ):
        done = run_cli("staff", name, "--help")
        assert done.returncode == 0, done.stderr
        assert f"Usage: mailbot staff {name} {usage}" in done.stdout
