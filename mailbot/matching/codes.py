"""Codici fiscali, partite IVA and names, normalised the same way for the registry and for
incoming mail. Check characters are verified with python-stdnum; a code is never taken on its
shape alone.
"""

from __future__ import annotations

import re
import unicodedata

from stdnum.exceptions import ValidationError
from stdnum.it import codicefiscale, iva

# The shape of a personal codice fiscale, omocodia letters included; checked afterwards.
# Both cases spelled out: IGNORECASE makes sre fold every character it tries (twice as slow
# over a long text).
_O = "0-9LMNPQRSTUVlmnpqrstuv"
_CF_SHAPE = re.compile(
    rf"(?<![A-Za-z0-9])[A-Za-z]{{6}}[{_O}]{{2}}[A-EHLMPRSTa-ehlmprst][{_O}]{{2}}[A-Za-z]"
    rf"[{_O}]{{3}}[A-Za-z](?![A-Za-z0-9])"
)
_DIGITS_11 = re.compile(r"(?<!\d)\d{11}(?!\d)")
# How far before the digits a claim is looked for: "codice fiscale", six separators, "IT " and
# room to spare. A claim stretched wider (dozens of blanks inside "codice   fiscale") is missed.
_CLAIM_REACH = 64
# A partita IVA is eleven digits, as are many other numbers: only when it is named as one.
_PIVA_CLAIM = re.compile(
    r"(?:p(?:artita)?\.?\s*i(?:va)?\.?|c(?:odice)?\.?\s*f(?:iscale)?\.?|vat|iva)"
    r"[\s:n.°º#-]{0,6}(?:IT)?\s?(\d{11})(?!\d)",
    re.IGNORECASE,
)
_NAME_NOISE = frozenset(
    {"srl", "srls", "spa", "snc", "sas", "sapa", "scarl", "scrl", "soc", "coop", "onlus", "ets"}
)


_CF_FULL = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_CLEAN = re.compile(r"[\s.\-]+")


def normalise_code(value: str) -> str | None:
    """A valid codice fiscale or partita IVA in canonical form (upper case, no blanks and,
    for a partita IVA, no IT prefix), else None. A codice fiscale is checked by its shape and
    check character (stdnum's `calc_check_digit`: the full `validate` costs ten times as much
    through its generic clean-up, and a registry import runs this a million times); a partita
    IVA by stdnum's `validate`."""
    code = _CLEAN.sub("", value).upper()
    if len(code) == 16:
        if _CF_FULL.fullmatch(code) and codicefiscale.calc_check_digit(code[:15]) == code[15]:
            return code
        return None
    if len(code) == 13 and code.startswith("IT"):
        code = code[2:]
    if len(code) == 11 and code.isdigit():
        try:
            return str(iva.validate(code))
        except ValidationError:
            return None
    return None


def code_kind(code: str) -> str:
    return "partita_iva" if code.isdigit() else "codice_fiscale"


def claimed_codes(text: str) -> list[str]:
    """Valid codes written in a message, in order of appearance, each once: a personal codice
    fiscale wherever it stands; a partita IVA only after "P.IVA", "partita IVA", "C.F."…"""
    found: dict[str, int] = {}
    for match in _CF_SHAPE.finditer(text):
        code = normalise_code(match.group(0))
        if code:
            found.setdefault(code, match.start())
    # Eleven digits are rarer than the letters a claim starts with: find them, then look for
    # the claim just before them (the same matches as scanning the text for claims).
    for digits in _DIGITS_11.finditer(text):
        start = max(0, digits.start() - _CLAIM_REACH)
        for match in _PIVA_CLAIM.finditer(text, start, digits.end() + 1):
            if match.start(1) == digits.start():
                code = normalise_code(match.group(1))
                if code:
                    found.setdefault(code, match.start(1))
    return sorted(found, key=found.__getitem__)


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, accents and punctuation gone, blanks single: "D'Àngelo  S.R.L." →
    "d angelo s r l". (Decomposed, then kept to ASCII: the accents go with the rest.)"""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NOT_ALNUM.sub(" ", plain.lower()).split())


def name_tokens(name: str) -> frozenset[str]:
    """The words of a name that identify it (three letters or more, legal forms left out)."""
    folded = fold(name.replace(".", ""))  # "S.R.L." is one word, srl
    return frozenset(w for w in folded.split() if len(w) >= 3 and w not in _NAME_NOISE)
