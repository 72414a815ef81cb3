"""The `[charter.indemnity]` table: what a late reasoned reply owes, as rules (issue 33).

A profile gives every rule; the table's keys override it one by one:
- `charter` (the default): today's refunds, unchanged: the term's `refund_eur`, paid within
  `[charter] refund_pay_days`, `refund_late_factor` times over past that; no exclusion by cause.
- `arera_water` (ARERA RQSII, 655/2015/R/idr): 30 EUR for a late reply, twice that beyond twice
  the term, three times beyond three times; credited on the first useful bill within 180 days (the
  bill's reference is required); none for force majeure or a cause attributable to the user or a
  third party, nor when the complaint lacks the minimum data (an operator marks it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailbot.config.table import Table
from mailbot.errors import ConfigError

# Why a term was missed, as ARERA's register records it.
CAUSES = ("force_majeure", "user_or_third_party", "operator")


@dataclass(frozen=True)
class IndemnitySettings:
    profile: str = "charter"
    base_eur: float | None = None  # None: the term's `refund_eur` (offices, [offices.terms])
    # Beyond k times the term the amount is base times k (the largest k passed); () : base only.
    steps: tuple[int, ...] = ()
    pay_days: int | None = None  # None: [charter] refund_pay_days
    late_factor: float | None = None  # past pay_days; None: [charter] refund_late_factor
    excluded_causes: tuple[str, ...] = ()  # missed-term causes that owe nothing
    minimum_data_exclusion: bool = False  # a complaint marked incomplete owes nothing
    bill_reference_required: bool = False  # `refunds pay` needs the bill's reference

    def amount(self, term_refund_eur: float, term_days: int, days_taken: int) -> float:
        """What a late reply (the deadline says it is) after `days_taken` days of a `term_days`
        term owes: the base, times k beyond k times the term."""
        base = term_refund_eur if self.base_eur is None else self.base_eur
        times = max((k for k in self.steps if days_taken > k * term_days), default=1)
        return round(base * times, 2)

    def excludes(self, cause: str, minimum_data_missing: bool) -> str:
        """Why nothing is owed (an Italian phrase for the register), "" when it is."""
        if cause and cause in self.excluded_causes:
            return CAUSE_NAMES[cause]
        if minimum_data_missing and self.minimum_data_exclusion:
            return "reclamo privo dei dati minimi"
        return ""


CAUSE_NAMES = {
    "force_majeure": "forza maggiore",
    "user_or_third_party": "causa imputabile al cliente o a terzi",
    "operator": "causa imputabile al gestore",
}
CAUSE_NAMES_EN = {
    "force_majeure": "force majeure",
    "user_or_third_party": "cause attributable to the user or a third party",
    "operator": "cause attributable to the operator",
}

PROFILES = {
    "charter": IndemnitySettings(),
    "arera_water": IndemnitySettings(
        profile="arera_water",
        base_eur=30.0,
        steps=(2, 3),
        pay_days=180,
        late_factor=1.0,
        excluded_causes=("force_majeure", "user_or_third_party"),
        minimum_data_exclusion=True,
        bill_reference_required=True,
    ),
}


def read_indemnity(t: Table) -> IndemnitySettings:
    name = t.text("profile", "charter", choices=tuple(PROFILES))
    profile = PROFILES[name]
    base = t.number("base_eur", 0.0) if "base_eur" in t.data else profile.base_eur
    steps = profile.steps
    if "steps" in t.data:
        raw = t.data["steps"]
        t.used.add("steps")
        if not isinstance(raw, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 2 for k in raw
        ):
            raise ConfigError("charter.indemnity.steps: expected a list of integers of 2 or more")
        steps = tuple(sorted(set(raw)))
    causes = t.str_list("excluded_causes") if "excluded_causes" in t.data else None
    for cause in causes or ():
        if cause not in CAUSES:
            raise ConfigError(
                f"charter.indemnity.excluded_causes: {cause!r} is not one of {', '.join(CAUSES)}"
            )
    settings = replace(
        profile,
        base_eur=base,
        steps=steps,
        pay_days=t.integer("pay_days", 0, 1, 3650) if "pay_days" in t.data else profile.pay_days,
        late_factor=t.number("late_factor", 1.0, 1.0)
        if "late_factor" in t.data
        else profile.late_factor,
        excluded_causes=profile.excluded_causes if causes is None else causes,
        minimum_data_exclusion=t.flag("minimum_data_exclusion", profile.minimum_data_exclusion),
        bill_reference_required=t.flag("bill_reference_required", profile.bill_reference_required),
    )
    t.done()
    return settings
