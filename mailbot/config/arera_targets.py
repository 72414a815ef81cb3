"""The general standards ARERA sets for written requests, as data: per regulatory scheme, the
minimum share of each kind of request to be answered within its term. The annual data
(`mailbot report arera`, admin/arera.py) shows the share achieved against the target of the
scheme the territorial authority chose.

Waste (TQRIF, ARERA 15/2022/R/rif): the territorial authority puts each operator in one of four
schemes (I-IV). Scheme I has no general standards, only service obligations (TQRIF art. 58.2,
quoted in the operators' published transparency pages). For schemes II-IV the table below holds
the figures as this project read them; the only one stated in the issue that asked for this
work is 70% of complaints within 30 working days in scheme III. The others were NOT checked
against the published text of TQRIF (Appendix I, "livelli generali di qualità contrattuale"):
`SOURCES` says which is which, and `mailbot report arera --target KIND=PERCENT` overrides any of
them (an authority may also set better standards than TQRIF's, art. 3 of the deliberation).
Water (RQSII) has no scheme: its annual data shows the share without a target.
"""

from __future__ import annotations

SCHEMES = ("I", "II", "III", "IV")
# The regulated kinds of written request (work_order.kind), in the order the report lists them.
REGULATED_KINDS = ("reclamo", "richiesta_informazioni", "rettifica_fatturazione")
KIND_NAMES = {
    "reclamo": "Reclamo scritto",
    "richiesta_informazioni": "Richiesta scritta di informazioni",
    "rettifica_fatturazione": "Richiesta scritta di rettifica degli importi addebitati",
}

# scheme → kind → minimum share within the term, in percent (no entry: no standard).
TARGETS: dict[str, dict[str, float]] = {
    "I": {},
    "II": {"reclamo": 70.0, "richiesta_informazioni": 70.0, "rettifica_fatturazione": 70.0},
    "III": {"reclamo": 70.0, "richiesta_informazioni": 70.0, "rettifica_fatturazione": 70.0},
    "IV": {"reclamo": 90.0, "richiesta_informazioni": 90.0, "rettifica_fatturazione": 90.0},
}
# Where each figure comes from: read this before relying on one (module docstring).
CONFIRMED_ISSUE = "issue 33 (scheme III complaints: 70%)"
UNCONFIRMED = "not checked against TQRIF Appendix I: verify, or override with --target"
SOURCES: dict[tuple[str, str], str] = {
    (scheme, kind): (CONFIRMED_ISSUE if (scheme, kind) == ("III", "reclamo") else UNCONFIRMED)
    for scheme, kinds in TARGETS.items()
    for kind in kinds
}


def scheme_of(text: str) -> str | None:
    """ "III", "iii", "3" → "III"; None when it names no scheme."""
    word = text.strip().upper()
    roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}.get(word, word)
    return roman if roman in SCHEMES else None


def target(
    scheme: str | None, kind: str, overrides: dict[str, float] | None = None
) -> float | None:
    """The minimum share (percent) for `kind` in `scheme`, an override first; None: none set."""
    if overrides and kind in overrides:
        return overrides[kind]
    return TARGETS.get(scheme or "", {}).get(kind)
