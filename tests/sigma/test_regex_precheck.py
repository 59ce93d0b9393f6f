"""Regular-expression values are rejected without an RE2 call when they hold none of the pattern's literals:
the check must never reject a value RE2 would match (case folds included)."""

from __future__ import annotations

import itertools

import re2
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

from detectors.sigma.compiler import Compiler, regex_value_literals

PATTERNS = [
    r"\w+`(?:\w+|-|.)`[\w+|\s]",
    r'"(?:\{\d\})+"\s*-f',
    r"(?i)\$\{`?e`?n`?v",
    r"(?i)ſtop",
    r"(?i)kelvin",
    r"STRASSE",
    r"(?i)straße",
    r"σοφία",
    r"(?i)σοφία",
    r"^[Cc]:\\[Pp]rogram[Dd]ata\\.{1,9}\.exe",
    r"a|bc",
    r"(ab|cd)+x",
    r".{5,}",
]
VALUES = [
    "", "x", "IN`V`o`Ke-eXp`ResSIOn", '&("{2}{3}{0}"-f \'e\')', "${e`Nv:pATh}", "${ENV:PATH}", "STOP", "ſtop",
    "ſTOP", "\u212aELVIN", "KELVIN", "kelvin", "STRASSE", "strasse", "STRAẞE", "straße", "ΣΟΦΊΑ", "σοφία", "ΣΟΦΙΑ",
    "C:\\ProgramData\\abc.exe", "c:\\programdata\\abcdefghij.exe", "bc", "xa", "ababx", "cdx", "abcd", "12345",
    "İstanbul", "ıi", "\u2028\u2029", "emoji 😀 `a`b",
]


def test_value_literals_include_single_characters():
    assert regex_value_literals(PATTERNS[0]) == ("`",)
    assert regex_value_literals(r"(?i)ſtop") == ("stop",)
    assert regex_value_literals(r".{5,}") is None
    assert regex_value_literals(r"[[:digit:]]x") is None  # POSIX class: Python reads it differently


def test_precheck_never_rejects_what_re2_matches():
    """Every pattern alone, with each flag, and pairs as one OR-linked list, against every value."""
    flags = [(), (SigmaRegularExpressionFlag.IGNORECASE,)]
    cases = [[(p, f)] for p in PATTERNS for f in flags] + [[(a, ()), (b, ())] for a, b in
                                                          itertools.combinations(PATTERNS, 2)]
    checked = matched = 0
    for case in cases:
        comp = Compiler(None, field_mapping=False)
        rxs = []
        for p, f in case:
            rx = SigmaRegularExpression(p)
            for fl in f:
                rx.add_flag(fl)
            rxs.append(rx)
        m, _ = comp.regex_values(rxs)
        alt = "|".join(f"(?{'i' if f else ''}:{p})" if f else f"(?:{p})" for p, f in case)
        ref = re2.compile(alt)
        for v in VALUES:
            want = ref.search(v) is not None
            assert bool(m(v, {})) is want, (case, v)
            checked += 1
            matched += want
    assert matched > 50 and checked > 1000
