"""`mailbot check` warns, without failing, when a regulated `[charter.requests]` profile is on
and an office sets `response_days`: that office's cases keep its own term (calendar days unless
`working_days = true`) instead of the profile's terms per kind (review finding 2)."""

from __future__ import annotations

from pathlib import Path

from mailbot import config
from mailbot.admin.doctor import config_warnings

from support.app import run_cli, write_config

WATER = '[charter.requests]\nprofile = "arera_water"\n'


def _config(tmp_path: Path, extra: str, *, response_days: bool) -> Path:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "maildir" / sub).mkdir(parents=True)
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    assert "response_days = 30\n" in path.read_text()
    if not response_days:
        path.write_text(path.read_text().replace("response_days = 30\n", ""))
    return path


def test_a_regulated_profile_with_an_explicit_office_term_warns(tmp_path):
    settings = config.load(_config(tmp_path, WATER, response_days=True))
    [(what, why)] = config_warnings(settings)
    [office] = settings.offices
    assert what == f"office {office}"
    assert "response_days = 30 is set" in why and "(30 calendar days)" in why
    assert "arera_water profile's" in why and "rettifica_fatturazione 30" in why
    assert "leave response_days out" in why


def test_no_warning_without_the_explicit_term_or_without_a_regulated_profile(tmp_path):
    left_out = config.load(_config(tmp_path / "a", WATER, response_days=False))
    assert config_warnings(left_out) == []
    municipal = config.load(_config(tmp_path / "b", "", response_days=True))
    assert config_warnings(municipal) == []


def test_check_prints_the_warning_as_a_warn_line_and_still_succeeds(tmp_path):
    path = _config(tmp_path, WATER, response_days=True)
    assert run_cli("--config", str(path), "db", "upgrade").returncode == 0
    done = run_cli("--config", str(path), "check")
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    [warn] = [ln for ln in lines if ln.startswith("WARN  ")]
    assert warn.startswith("WARN  office ") and "response_days = 30 is set" in warn
    assert lines.index(warn) == 1  # right below the config's own line
    assert "FAIL" not in done.stdout
