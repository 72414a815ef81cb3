"""Codici fiscali, partite IVA and names, normalised the same way for the registry and for
incoming mail. Check characters are verified by python-stdnum's rules (restated here, and
compared with stdnum by the tests); a code is never taken on its shape alone.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

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
    check character, a partita IVA by stdnum's rules (`_cf_check`, `_piva_valid`: the same
    answers as stdnum's, which tests/unit/test_registry_matching.py compares, at a quarter of
    the cost; a registry import runs this a million times)."""
    code = _CLEAN.sub("", value).upper()
    if len(code) == 16:
        if _CF_FULL.fullmatch(code) and _cf_check(code) == code[15]:
            return code
        return None
    if len(code) == 13 and code.startswith("IT"):
        code = code[2:]
    if len(code) == 11 and code.isascii() and code.isdigit() and _piva_valid(code):
        return code
    return None


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# stdnum.it.codicefiscale's tables: the value of a character in an odd (1st, 3rd…) or even
# position; digits count as the letter of the same rank.
_CF_ODD_VALUES = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10)
_CF_ODD_VALUES_LAST = (22, 25, 24, 23)  # W X Y Z
_CF_ODD = {
    c: v
    for chars in ("0123456789", _ALPHABET)
    for c, v in zip(chars, _CF_ODD_VALUES + _CF_ODD_VALUES_LAST, strict=False)
}
_CF_EVEN = {c: n for chars in ("0123456789", _ALPHABET) for n, c in enumerate(chars)}


def _cf_check(code: str) -> str:
    """The check character of a codice fiscale whose first 15 characters have the right shape
    (as `codicefiscale.calc_check_digit(code[:15])`)."""
    total = sum(map(_CF_ODD.__getitem__, code[0:15:2])) + sum(
        map(_CF_EVEN.__getitem__, code[1:15:2])
    )
    return _ALPHABET[total % 26]


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _piva_valid(digits: str) -> bool:
    """stdnum's `it.iva.validate` for eleven ASCII digits: not seven zeros first, a province
    code, the Luhn check digit."""
    if int(digits[:7]) == 0:
        return False
    if not ("001" <= digits[7:10] <= "100" or digits[7:10] in ("120", "121", "888", "999")):
        return False
    doubled = sum(_LUHN_DOUBLED[int(c)] for c in digits[-2::-2])
    return (sum(map(int, digits[-1::-2])) + doubled) % 10 == 0


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
    """The words of a name that identify it (three letters or more, legal forms left out).
    Folded word by word (a space separates in `fold` too, and NFKD never reaches across it),
    through a cache: a registry import meets "rossi" and "mario" a hundred thousand times."""
    words = name.replace(".", "").split(" ")  # "S.R.L." is one word, srl
    return frozenset(itertools.chain.from_iterable(map(_word_tokens, words)))


@functools.lru_cache(maxsize=1 << 16)
def _word_tokens(word: str) -> tuple[str, ...]:
    return tuple(w for w in fold(word).split() if len(w) >= 3 and w not in _NAME_NOISE)
