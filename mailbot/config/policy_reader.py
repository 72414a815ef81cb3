"""The `[charter]` (and `[[categories]]`) and `[spam]` sections."""

from __future__ import annotations

import re

from mailbot.config.defaults import DEFAULT_CATEGORIES, RSPAMD_ACTIONS, SPAM_FILTERS, Category
from mailbot.config.indemnity import read_indemnity
from mailbot.config.reply_checks import read_reply_checks
from mailbot.config.requests import read_requests
from mailbot.config.settings import CharterSettings
from mailbot.config.spam_settings import SpamRule, SpamSettings
from mailbot.config.table import Table
from mailbot.errors import ConfigError


def read_charter(t: Table, root: Table) -> CharterSettings:
    holidays = tuple(h.strip() for h in t.str_list("local_holidays"))
    for day in holidays:
        if not re.fullmatch(r"(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", day):
            raise ConfigError(f"charter.local_holidays: {day!r} is neither MM-DD nor YYYY-MM-DD")
    digest_time = t.text("digest_time", "08:00")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", digest_time):
        raise ConfigError(f"charter.digest_time: expected HH:MM, got {digest_time!r}")
    reminder_days = t.integer("reminder_days", 3, 0, 365)
    survey = t.flag("satisfaction_survey", False)
    saturday = t.flag("saturday_is_working_day", False)
    privacy_notice = t.text("privacy_notice", "").strip()
    redress = t.text("redress", "").strip()
    pay_days = t.integer("refund_pay_days", 20, 1, 365)
    late_factor = t.number("refund_late_factor", 2.0, 1.0)
    questions = tuple(q.strip() for q in t.str_list("survey_questions") if q.strip())
    if len(questions) > 10:
        raise ConfigError("charter.survey_questions: at most 10 questions")
    indemnity = read_indemnity(t.table("indemnity", required=False))
    requests = read_requests(t.table("requests", required=False))
    reply_checks = read_reply_checks(t.table("reply_checks", required=False))
    t.done()
    # A profile's payment rules (arera_water: 180 days, never more) govern every refund.
    pay_days = pay_days if indemnity.pay_days is None else indemnity.pay_days
    late_factor = late_factor if indemnity.late_factor is None else indemnity.late_factor
    categories: list[Category] = []
    if "categories" in root.data:
        for c in root.tables("categories"):
            category_id = c.identifier("id", "category", [k.id for k in categories])
            name = c.text("name")
            refund = c.number("refund_eur", 0.0)
            categories.append(
                Category(
                    category_id,
                    name,
                    c.text("name_en", name),
                    tuple(k.strip().lower() for k in c.str_list("keywords") if k.strip()),
                    refund_eur=refund,
                    compensation=c.text("compensation", "").strip(),
                    no_refund=c.flag("no_refund", False),
                )
            )
            c.done()
    else:
        root.used.add("categories")
    return CharterSettings(
        local_holidays=holidays,
        saturday_is_working_day=saturday,
        digest_time=digest_time,
        reminder_days=reminder_days,
        satisfaction_survey=survey,
        privacy_notice=privacy_notice,
        redress=redress,
        refund_pay_days=pay_days,
        refund_late_factor=late_factor,
        survey_questions=questions,
        indemnity=indemnity,
        requests=requests,
        reply_checks=reply_checks,
        categories=tuple(categories) or DEFAULT_CATEGORIES,
    )


def read_spam(t: Table) -> SpamSettings:
    filters = t.str_list("filters") if "filters" in t.data else SPAM_FILTERS
    for name in filters:
        if name not in SPAM_FILTERS:
            raise ConfigError(f"spam.filters: {name!r} is not one of {', '.join(SPAM_FILTERS)}")
    hosts = tuple(h.strip().lower().rstrip(".") for h in t.str_list("trusted_hosts") if h.strip())
    rules = []
    for rule in t.tables("rules") if "rules" in t.data else []:
        pattern = rule.text("pattern")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{rule.where}.pattern: not a regular expression: {exc}") from None
        header = rule.text("header").strip().lower()
        if not re.fullmatch(r"[!-9;-~]+", header):
            raise ConfigError(f"{rule.where}.header: {header!r} is not a header name")
        rules.append(SpamRule(rule.text("name", header), header, compiled))
        rule.done()
    url = t.text("rspamd_url", "").strip()
    if url and not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"spam.rspamd_url: expected http://host:port, got {url!r}")
    actions = tuple(a.strip().lower() for a in t.str_list("rspamd_actions")) or (
        SpamSettings.rspamd_actions
    )
    for action in actions:
        if action not in RSPAMD_ACTIONS:
            raise ConfigError(
                f"spam.rspamd_actions: {action!r} is not one of {', '.join(RSPAMD_ACTIONS)}"
            )
    settings = SpamSettings(
        filters=tuple(filters),
        trusted_hosts=hosts,
        microsoft_scl=t.integer("microsoft_scl", 5, 1, 9),
        rules=tuple(rules),
        rspamd_url=url,
        rspamd_timeout=t.duration("rspamd_timeout", "10s"),
        rspamd_actions=actions,
        on_rspamd_error=t.text("on_rspamd_error", "defer", ("defer", "accept")),
    )
    t.done()
    return settings
