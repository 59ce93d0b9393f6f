"""Compile a Sigma rule's detection into Python closures over plain dict events.

pySigma parses the rule and applies the value modifiers (``contains``, ``base64``,
``windash``...), so values arrive here already transformed into typed objects
(``SigmaString`` with wildcards, ``SigmaRegularExpression``, ``SigmaCIDRExpression``...).
We turn each into a small matcher and, alongside, compute the rule's *required
literals*: clauses of strings of which at least one must occur in the event's
JSON text (see ``event_haystack``; literals are written in that form) for the rule
to possibly match (no clause when none exists, e.g. under ``not`` or for a CIDR).
The engine feeds these to an Aho-Corasick automaton so that an event is only
evaluated against rules that can match it.

Semantics (Sigma specification): string comparisons are case-insensitive unless
``cased``; ``*`` and ``?`` are wildcards; a list of values is OR-linked unless
``all``; a map is AND-linked; a list of maps is OR-linked; keywords (no field)
search every string value of the event, unanchored (full-text search: a keyword
matches anywhere inside a value); a list-valued event field matches when
any element does; ``null`` matches an absent or null field. Regular expressions
run under RE2 (linear time), so a hostile pattern cannot stall the pipeline;
patterns RE2 cannot compile (back-references, look-around) reject the rule.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from itertools import product
from typing import Any

import ahocorasick
import orjson
import re2
from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from . import logsources
from .logsources import LogsourceKey

try:
    from . import _sigscan  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - without a C compiler: the pure-Python twins (same output, slower)
    _sigscan = None
try:
    from . import _sigeval  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - without a C compiler: the pure-Python twins (same output, slower)
    _sigeval = None

Event = dict[str, Any]
Matcher = Callable[[Event], bool]
ValueMatcher = Callable[[Any, Event], bool]
#: Required literals in conjunctive normal form: a matching event contains, for every clause, at least
#: one of the clause's lower-case literals. ``()``: no requirement (always a candidate).
Req = tuple[frozenset[str], ...]

MISSING: Any = object()
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
MIN_LITERAL = 2  # shorter literals hit almost every event and are worth nothing as a filter


class CompileError(ValueError):
    """A rule feature we cannot evaluate faithfully; the message is shown to the rule author."""


def to_str(v: Any) -> str | None:
    """The string form of a scalar event value used for string comparisons: as the value is written in JSON.

    Numbers and booleans compare as their JSON text (``orjson``, which also writes the prefilter's haystack),
    so string literals and the haystack agree by construction; NaN and infinities have no string form.
    """
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return orjson.dumps(v).decode() if math.isfinite(v) else None
    return None


_DECIMAL = re.compile(r"[ \t]*([+-]?)([0-9]*)(?:\.([0-9]*))?[ \t]*\Z")


def decimal_equals(x: str, n: int) -> bool:
    """Whether the string ``x`` is the integer ``n`` written in ASCII decimal (sign, leading zeros, ``.000``, spaces).

    Deliberately narrower than ``float(x)`` (no exponent, underscores or non-ASCII digits): every match then
    contains the digits of ``n``, which is what the prefilter searches for.
    """
    target = str(abs(n))  # compared as digit strings: no int() of an arbitrarily long value
    if x.isdigit() and x.isascii():
        return n >= 0 and (x.lstrip("0") or "0") == target
    m = _DECIMAL.match(x)
    if m is None:
        return False
    sign, whole, frac = m.groups()
    if not whole and not frac:
        return False
    if frac and frac.strip("0"):
        return False
    if (whole.lstrip("0") or "0") != target:
        return False
    return n == 0 or (n < 0) == (sign == "-")


def iter_scalars(doc: Any) -> Iterator[Any]:
    """Every scalar leaf of an event (list elements included)."""
    if isinstance(doc, dict):
        for v in doc.values():
            yield from iter_scalars(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from iter_scalars(v)
    elif doc is not None:
        yield doc


def compile_re2(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except Exception as exc:  # re2 raises its own error type
        msg = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise CompileError(f"regular expression not supported by RE2 (linear-time engine): {msg}: {pattern!r}") from None


_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def re2_search(pattern: str) -> Callable[[str], bool]:
    """Whether ``pattern`` occurs in a string, by RE2 (linear time).

    Calls the compiled RE2 object directly: the ``re2`` module's ``search`` builds a match object and maps
    byte offsets back to characters, which costs more than the search itself on typical log values.
    """
    match = compile_re2(pattern)._regexp.Match

    def search(s: str) -> bool:
        b = s.encode()
        return bool(match(_UNANCHORED, b, 0, len(b))[0] != _NO_MATCH)

    return search


# ---------------------------------------------------------------- combinators
# Plain loops instead of ``all(f(ev) for f in fns)``: no generator per call, the hot path of rule evaluation.


def all_of(fns: tuple[Matcher, ...]) -> Matcher:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda ev: a(ev) and b(ev)

    def m(ev: Event) -> bool:
        for f in fns:  # noqa: SIM110 - see above
            if not f(ev):
                return False
        return True

    return m


def any_of(fns: tuple[Matcher, ...]) -> Matcher:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda ev: a(ev) or b(ev)

    def m(ev: Event) -> bool:
        for f in fns:  # noqa: SIM110 - see above
            if f(ev):
                return True
        return False

    return m


def all_values(fns: tuple[ValueMatcher, ...]) -> ValueMatcher:
    def m(x: Any, ev: Event) -> bool:
        for f in fns:  # noqa: SIM110 - see above
            if not f(x, ev):
                return False
        return True

    return m


def any_value(fns: tuple[ValueMatcher, ...]) -> ValueMatcher:
    def m(x: Any, ev: Event) -> bool:
        for f in fns:  # noqa: SIM110 - see above
            if f(x, ev):
                return True
        return False

    return m


# ---------------------------------------------------------------- literals


def _local_score(clause: Any) -> tuple[int, int]:
    return (min(len(x) for x in clause), -len(clause))


def _leaf(lits: frozenset[str] | None) -> Req:
    return () if lits is None else (lits,)


def _best(reqs: list[Req]) -> Req:
    """AND: every child's clauses must hold."""
    out: list[frozenset[str]] = []
    for r in reqs:
        for c in r:
            if c not in out:
                out.append(c)
    return tuple(out)


#: most clauses an OR contributes (a product of its children's clause counts is cut down to this)
MAX_OR_CLAUSES = 32


def _union(reqs: list[Req]) -> Req:
    """OR: clauses of the union of one clause per child; no constraint if a child has none.

    ``(a and b) or (c and d)`` requires ``a|c``, ``a|d``, ``b|c`` and ``b|d`` (distribution): each such
    clause holds on its own, so any subset of them is sound. Children keep their best clauses (longest
    shortest literal) until the product is at most :data:`MAX_OR_CLAUSES`; clauses that contain another one
    add nothing and are dropped. More clauses let the engine trigger on a rare one and check the others
    (``powershell.exe and pester`` or ``cmd.exe and pester`` gives the clause ``pester``).
    """
    if not reqs or any(not r for r in reqs):
        return ()
    kept = [sorted(r, key=_local_score, reverse=True) for r in reqs]
    while math.prod(len(k) for k in kept) > MAX_OR_CLAUSES:
        longest = max(kept, key=len)
        longest.pop()
    clauses = {frozenset().union(*combo) for combo in product(*kept)}
    minimal = [c for c in clauses if not any(o < c for o in clauses)]
    return tuple(sorted(minimal, key=lambda c: (-len(c), sorted(c))))


def union_reqs(reqs: list[Req]) -> Req:
    return _union(reqs)


def useful(lit: str) -> bool:
    """Worth requiring: long enough, or one non-ASCII character (emoji, homoglyphs), rare in logs."""
    return len(lit) >= MIN_LITERAL or (len(lit) == 1 and ord(lit) > 127)


def _string_literal(s: SigmaString) -> frozenset[str] | None:
    parts = [p.lower() for p in s.s if isinstance(p, str)]
    if not parts:
        return None
    return bare(max(parts, key=len))


# Literals are searched in the event's JSON text (orjson, lower-cased; see ``event_haystack``), so each is
# written as it appears there: JSON-escaped (``\\`` for a backslash). Escaping works character by character,
# so a value containing a literal has a JSON form containing the literal's JSON form. Whole-value literals
# carry their quotes: ``"value"`` (equals), ``"prefix`` (startswith), ``suffix"`` (endswith): they hit far
# less often than bare substrings. A value that is not a string (number, boolean) appears without quotes,
# so a literal that could be part of one (digits, ``.-+e``, part of true/false) stays bare.
_NUMBER_CHARS = frozenset("0123456789.-+e")


def _json_form(lit: str) -> str | None:
    # case-folded, as the haystack is: folding is context-free (unlike lower() of a final sigma) and maps
    # what RE2's case-insensitive matching treats as equal (long s and s, micro sign and mu) to one form
    try:
        return orjson.dumps(lit).decode()[1:-1].casefold()
    except TypeError:  # lone surrogates
        return None


def _number_like(core: str) -> bool:
    """Could ``core`` be (part of) how a number or a boolean is written (``to_str``)?"""
    return set(core) <= _NUMBER_CHARS or core in "true" or core in "false"


def bare(lit: str) -> frozenset[str] | None:
    """A substring literal (lower-case), or None when it is too short to be worth searching for."""
    if not useful(lit):
        return None
    j = _json_form(lit)
    return frozenset({j}) if j else None


def _bare_all(lits: frozenset[str] | None) -> frozenset[str] | None:
    """One clause of several substring literals (None unless every one of them can be searched for)."""
    if not lits:
        return None
    out: set[str] = set()
    for x in lits:
        b = bare(x)
        if b is None:
            return None
        out |= b
    return frozenset(out)


def anchored(core: str, kind: str) -> frozenset[str] | None:
    """Literal of a lower-case value that must equal (``eq``), start (``sw``), end (``ew``) or contain the value."""
    if kind == "cont" or _number_like(core) or (kind != "eq" and not core):
        return bare(core)
    j = _json_form(core)
    if j is None:
        return None
    return frozenset({f'"{j}"' if kind == "eq" else f'"{j}' if kind == "sw" else f'{j}"'})


@lru_cache(maxsize=4096)
def _parse_regex(pattern: str) -> Any:
    """Python's parse tree of ``pattern``, or None where its syntax differs from RE2's (POSIX classes
    ``[[:x:]]``, ``{,n}``, which it would read as other patterns) or it fails: then nothing is claimed."""
    if "[:" in pattern or "{," in pattern:
        return None
    try:
        return re._parser.parse(pattern)  # type: ignore[attr-defined]
    except Exception:
        return None


@lru_cache(maxsize=4096)
def regex_literals(pattern: str) -> frozenset[str] | None:
    """Lower-case literals one of which every match of ``pattern`` contains (None: none known).

    Literal runs of the top-level sequence, of groups and of repetitions of at least one, and for an
    alternation the union of one literal per branch; the set whose shortest literal is longest wins.
    Python's parser reads the pattern; where its syntax differs from RE2's (POSIX classes ``[[:x:]]``,
    ``{,n}``), or where it fails, no literal is claimed.
    """
    parsed = _parse_regex(pattern)
    if parsed is None:
        return None
    best = _regex_sets(parsed, useful)
    if best is None or not all(useful(x) for x in best):
        return None
    return best


def _any_length(lit: str) -> bool:
    return bool(lit)


@lru_cache(maxsize=4096)
def regex_value_literals(pattern: str) -> tuple[str, ...] | None:
    """Case-folded literals one of which every match of ``pattern`` contains, single characters included.

    Checked in the value before it is searched (``lit in value.casefold()``, a native scan of a string the
    matchers have usually lowered already) instead of an RE2 call, which costs more than the search itself
    on typical values. Case-folded on both sides, as the prefilter's haystack is: folding maps what RE2's
    case-insensitive matching treats as equal (``ſ`` and ``s``, Kelvin sign and ``k``) to one form, so a
    case-insensitive match still contains the literal; for a case-sensitive pattern the test is only weaker.
    None: no literal known (see :func:`regex_literals` for what is read).
    """
    parsed = _parse_regex(pattern)
    if parsed is None:
        return None
    best = _regex_sets(parsed, _any_length)
    if not best:
        return None
    return tuple(sorted({x.casefold() for x in best}))


@lru_cache(maxsize=4096)
def regex_min_length(pattern: str) -> int:
    """The fewest characters a match of ``pattern`` spans (0: unknown), so shorter values are rejected unsearched.

    A counted repetition (``.{1000,}``) is a large RE2 program whose DFA is built state by state: the first
    searches of long command lines took 0.4-1 ms each, and a value shorter than any match needs no search.
    Python's parser gives the width; where its syntax differs from RE2's (POSIX classes ``[[:x:]]``,
    ``{,n}``, which it would read as longer or shorter patterns) or fails, 0.
    """
    parsed = _parse_regex(pattern)
    if parsed is None:
        return 0
    try:
        low = parsed.getwidth()[0]
    except Exception:
        return 0
    return int(low) if isinstance(low, int) else 0


def _regex_sets(parsed: Any, ok: Callable[[str], bool]) -> frozenset[str] | None:
    c = re._constants  # type: ignore[attr-defined]
    found: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            found.append(frozenset({"".join(run).lower()}))
            run.clear()

    for op, arg in parsed:
        if op is c.LITERAL:
            run.append(chr(arg))
            continue
        flush()
        sub: frozenset[str] | None = None
        if op is c.SUBPATTERN:
            sub = _regex_sets(arg[-1], ok)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)) and arg[0] >= 1:
            sub = _regex_sets(arg[2], ok)
        elif op is getattr(c, "ATOMIC_GROUP", None):
            sub = _regex_sets(arg, ok)
        elif op is c.BRANCH:
            alts = [_regex_sets(a, ok) for a in arg[1]]
            if all(x is not None for x in alts):
                sub = frozenset().union(*[x for x in alts if x is not None])
        if sub:
            found.append(sub)
    flush()
    usable = [f for f in found if f and all(ok(x) for x in f)]
    if not usable:
        return None
    return max(usable, key=lambda f: (min(len(x) for x in f), -len(f)))


# ---------------------------------------------------------------- values


def _wild_regex(s: SigmaString, lower: bool) -> str:
    out = []
    for p in s.s:
        if p is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif p is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(p, str):
            out.append(re.escape(p.lower() if lower else p))
    return r"(?s)\A" + "".join(out) + r"\z"


def _to_float(x: Any) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x.strip())
        except ValueError:
            return None
    return None


_TS_PARTS: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda d: d.minute,
    TimestampPart.HOUR: lambda d: d.hour,
    TimestampPart.DAY: lambda d: d.day,
    TimestampPart.WEEK: lambda d: d.isocalendar()[1],
    TimestampPart.MONTH: lambda d: d.month,
    TimestampPart.YEAR: lambda d: d.year,
}


def _parse_dt(x: Any) -> datetime | None:
    if isinstance(x, datetime):
        return x
    if isinstance(x, str):
        try:
            return datetime.fromisoformat(x.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


class Compiler:
    """Compiles detections of one rule under one logsource's field mapping."""

    def __init__(self, key: LogsourceKey | None, *, field_mapping: bool = True,
                 placeholders: dict[str, list[str]] | None = None) -> None:
        self.key = key if field_mapping else None
        self.placeholders = placeholders or {}
        self._accessors: dict[str, Callable[[Event], Any]] = {}
        #: every event path the compiled matchers read (the prefilter searches only these values)
        self.paths: set[str] = set()
        #: required literals that come from keyword items (searched in every value of the event)
        self.keyword_literals: set[str] = set()
        #: id(matcher) -> (kind, matcher, parts): how each combinator/field matcher was built, so that
        #: ``codegen`` can write the rule as one function (matchers it does not know are called as they are)
        self.ir: dict[int, tuple[str, Matcher, Any]] = {}

    # -- structure (recorded for codegen)

    def all(self, fns: tuple[Matcher, ...]) -> Matcher:
        """AND of matchers, in order (short-circuit)."""
        m = all_of(fns)
        if len(fns) > 1:
            self.ir[id(m)] = ("and", m, fns)
        return m

    def any(self, fns: tuple[Matcher, ...]) -> Matcher:
        """OR of matchers, in order (short-circuit)."""
        m = any_of(fns)
        if len(fns) > 1:
            self.ir[id(m)] = ("or", m, fns)
        return m

    def negate(self, inner: Matcher) -> Matcher:
        def m(ev: Event) -> bool:
            return not inner(ev)

        self.ir[id(m)] = ("not", m, inner)
        return m

    # -- fields

    def accessor(self, field: str) -> Callable[[Event], Any]:
        acc = self._accessors.get(field)
        if acc is None:
            paths = logsources.field_paths(self.key, field)
            self.paths.update(paths)
            acc = make_accessor(paths)
            self._accessors[field] = acc
        return acc

    # -- values

    def _expand_placeholders(self, s: SigmaString) -> list[SigmaString]:
        if not any(isinstance(p, Placeholder) for p in s.s):
            return [s]
        choices: list[list[Any]] = []
        for p in s.s:
            if isinstance(p, Placeholder):
                vals = self.placeholders.get(p.name)
                if not vals:
                    raise CompileError(f"placeholder %{p.name}% (expand modifier) has no configured value")
                choices.append([SigmaString(str(v)) for v in vals])
            else:
                choices.append([p])
        out = []
        for combo in product(*choices):
            acc = SigmaString("")
            for part in combo:
                acc = acc + part
            out.append(SigmaCasedString.from_sigma_string(acc) if isinstance(s, SigmaCasedString) else acc)
        return out

    def string_values(self, values: list[SigmaString]) -> tuple[ValueMatcher, Req]:
        """One matcher for OR-linked strings, grouping them so a value is lowered once."""
        eq: set[str] = set()
        sw: list[str] = []
        ew: list[str] = []
        cont: list[str] = []
        rx: list[str] = []
        #: per wildcard pattern, its longest literal part (lowered): a value it matches contains that part,
        #: so a value containing none of them is rejected without the RE2 call ("": a pattern without one)
        rx_need: list[str] = []
        anything = False
        cased: list[ValueMatcher] = []
        reqs: list[Req] = []
        for s0 in values:
            for s in self._expand_placeholders(s0):
                parts = s.s
                is_cased = isinstance(s, SigmaCasedString)
                if is_cased:
                    reqs.append(_leaf(_string_literal(s)))
                    cased.append(self._cased(s))
                    continue
                inner = parts
                lead = bool(inner) and inner[0] is SpecialChars.WILDCARD_MULTI
                trail = len(inner) > int(lead) and inner[-1] is SpecialChars.WILDCARD_MULTI
                core = inner[int(lead): len(inner) - int(trail)]
                if not core and (lead or trail):
                    # '*' alone: any value (including empty string)
                    reqs.append(())
                    anything = True
                elif all(isinstance(p, str) for p in core):
                    lit = "".join(p for p in core if isinstance(p, str)).lower()
                    kind = "cont" if lead and trail else "ew" if lead else "sw" if trail else "eq"
                    reqs.append(_leaf(anchored(lit, kind)))
                    if kind == "eq":
                        eq.add(lit)
                    else:
                        {"cont": cont, "ew": ew, "sw": sw}[kind].append(lit)
                else:
                    reqs.append(_leaf(_string_literal(s)))
                    rx.append(_wild_regex(s, lower=True))
                    chunks = [p.lower() for p in core if isinstance(p, str)]
                    rx_need.append(max(chunks, key=len) if chunks else "")
        swt, ewt = tuple(sw), tuple(ew)
        contt = tuple(cont)
        cont_ac: Any = None
        if len(contt) > 6:
            # long lists of substrings (tool names, paths): one Aho-Corasick pass instead of a Python loop
            cont_ac = ahocorasick.Automaton()
            for c in contt:
                if c:
                    cont_ac.add_word(c, c)
            cont_ac.make_automaton()
            contt = ("",) if any(not c for c in cont) else ()
        for r in rx:
            compile_re2(r)  # names the offending pattern if RE2 refuses it
        # one RE2 pass for all the wildcard patterns of the list
        rxs = re2_search("|".join(f"(?:{r})" for r in rx)) if rx else None
        needt = None if "" in rx_need else tuple(sorted(set(rx_need)))
        casedt = tuple(cased)
        lowered = _LOWER

        def m(x: Any, ev: Event) -> bool:
            # to_str and lower inlined for the common case (a str, lowered earlier in the event): the calls
            # cost more than the tests on short values
            s = x if x.__class__ is str else to_str(x)
            if s is None:
                return False
            if anything:
                return True
            if casedt:
                for cm in casedt:
                    if cm(s, ev):
                        return True
            low = lowered.get(s)
            if low is None:
                low = lower(s)
            if low in eq:
                return True
            if swt and low.startswith(swt):
                return True
            if ewt and low.endswith(ewt):
                return True
            for c in contt:
                if c in low:
                    return True
            if cont_ac is not None:
                for _ in cont_ac.iter(low):
                    return True
            if rxs is None:
                return False
            if needt is not None:
                for lit in needt:
                    if lit in low:
                        return rxs(low)
                return False
            return rxs(low)

        if _sigeval is not None:
            # the same steps natively for a str value (the common case); any other value goes to ``m``
            return _sigeval.StrMatcher(m, anything, casedt, eq, swt, ewt, contt, cont_ac, rxs, needt, lowered,
                                       lower, tuple(c for c in cont if c)), _union(reqs)
        return m, _union(reqs)

    def _cased(self, s: SigmaString) -> ValueMatcher:
        parts = s.s
        if all(isinstance(p, str) for p in parts):
            lit = "".join(p for p in parts if isinstance(p, str))
            return lambda x, ev: x == lit
        r = re2_search(_wild_regex(s, lower=False))
        return lambda x, ev: r(x)

    def value(self, v: SigmaType) -> tuple[ValueMatcher, Req]:
        if isinstance(v, SigmaString):
            return self.string_values([v])
        if isinstance(v, SigmaExpansion):
            subs = [self.value(x) for x in v.values]
            fns = tuple(f for f, _ in subs)
            return any_value(fns), _union([r for _, r in subs])
        if isinstance(v, SigmaRegularExpression):
            return self.regex_values([v])
        if isinstance(v, SigmaTimestampPart):
            part = _TS_PARTS[v.timestamp_part]
            want = v.number

            def mts(x: Any, ev: Event) -> bool:
                d = _parse_dt(x)
                return d is not None and part(d) == want

            return mts, ()
        if isinstance(v, SigmaBool):
            b = bool(v.boolean)

            def mbool(x: Any, ev: Event) -> bool:
                if isinstance(x, bool):
                    return x is b
                return isinstance(x, str) and x.lower() == ("true" if b else "false")

            return mbool, ()
        if isinstance(v, SigmaNumber):
            n = v.number
            ns = str(n)
            integer = isinstance(n, int)

            def mnum(x: Any, ev: Event) -> bool:
                if isinstance(x, bool):
                    return False
                if isinstance(x, (int, float)):
                    return x == n
                if isinstance(x, str):
                    if x == ns:
                        return True
                    if integer:
                        if x.isdigit() and x[0] != "0":
                            return False  # plain digits other than n's
                        return decimal_equals(x, int(n))
                    f = _to_float(x)
                    return f is not None and f == n
                return False

            # an equal value is written with these digits: an int, a float below 1e16 ("4742.0"), a decimal string
            digits = str(abs(n)) if integer else ""
            lit = digits if len(digits) >= MIN_LITERAL and abs(n) < 10**16 else None
            return mnum, _leaf(frozenset({lit}) if lit else None)
        if isinstance(v, SigmaCompareExpression):
            n = v.number.number
            op = v.op
            cmp: Callable[[float], bool] = {
                CompareOperators.LT: lambda f: f < n, CompareOperators.LTE: lambda f: f <= n,
                CompareOperators.GT: lambda f: f > n, CompareOperators.GTE: lambda f: f >= n,
            }.get(op, lambda f: f != n)

            def mcmp(x: Any, ev: Event) -> bool:
                f = _to_float(x)
                return f is not None and cmp(f)

            return mcmp, ()
        if isinstance(v, SigmaCIDRExpression):
            net = v.network

            def mcidr(x: Any, ev: Event) -> bool:
                if not isinstance(x, str):
                    return False
                try:
                    return ipaddress.ip_address(x.strip()) in net
                except ValueError:
                    return False

            return mcidr, ()
        if isinstance(v, SigmaFieldReference):
            other = self.accessor(v.field)
            sw_, ew_ = v.starts_with, v.ends_with

            def mref(x: Any, ev: Event) -> bool:
                o = other(ev)
                if o is MISSING or o is None:
                    return False
                xs, os_ = to_str(x), to_str(o)
                if xs is None or os_ is None:
                    return x == o
                xs, os_ = xs.lower(), os_.lower()
                if sw_ and ew_:
                    return os_ in xs
                if sw_:
                    return xs.startswith(os_)
                if ew_:
                    return xs.endswith(os_)
                return xs == os_

            return mref, ()
        raise CompileError(f"value type {type(v).__name__} is not supported")

    # -- detection items

    def item(self, it: SigmaDetectionItem) -> tuple[Matcher, Req]:
        values = list(it.value)
        and_linked = it.value_linking is ConditionAND and len(values) > 1
        if any(isinstance(v, SigmaNull) for v in values) or any(isinstance(v, SigmaExists) for v in values):
            m, req = self._null_exists_item(it, values, and_linked)
        else:
            if it.field is None:
                values = [_unanchored(v) for v in values]
            vm, req = self._values(values, and_linked)
            if it.field is None:
                m = self._keyword(values, and_linked)
            else:
                m = self._field(self.accessor(it.field), vm, values, and_linked)
        if it.negated:
            return self.negate(m), ()
        if it.field is None:
            for clause in req:
                self.keyword_literals.update(clause)
        return m, req

    def regex_values(self, values: list[SigmaRegularExpression]) -> tuple[ValueMatcher, Req]:
        """OR-linked regular expressions as one RE2 search of their alternation (one pass, one encoding).

        Each pattern is first compiled alone (so an error names it) and then becomes a group with its own
        flags, ``(?i:...)``: an alternation matches where one of its branches does.
        """
        branches: list[str] = []
        reqs: list[Req] = []
        min_len = min(regex_min_length(str(v.regexp)) for v in values)
        # a value holding none of the literals one of which every match (of any of the patterns) contains
        # is rejected without calling RE2
        per = [regex_value_literals(str(v.regexp)) for v in values]
        checks = None if any(p is None for p in per) else tuple(sorted({x for p in per if p for x in p}))
        for v in values:
            pat = str(v.regexp)
            flags = "".join(c for f, c in ((SigmaRegularExpressionFlag.IGNORECASE, "i"),
                                           (SigmaRegularExpressionFlag.MULTILINE, "m"),
                                           (SigmaRegularExpressionFlag.DOTALL, "s")) if f in v.flags)
            compile_re2((f"(?{flags})" if flags else "") + pat)
            branches.append(f"(?{flags}:{pat})")
            reqs.append(_leaf(_bare_all(regex_literals(pat))))
        search = re2_search(branches[0] if len(branches) == 1 else "|".join(branches))
        lowered = _LOWER

        if checks:
            def mre(x: Any, ev: Event) -> bool:
                s = x if x.__class__ is str else to_str(x)
                if s is None or len(s) < min_len:
                    return False
                if s.isascii():  # for ASCII text lower() is the case fold
                    f = lowered.get(s)
                    if f is None:
                        f = lower(s)
                else:
                    f = s.casefold()
                for lit in checks:
                    if lit in f:
                        return search(s)
                return False
        elif min_len > 1:
            def mre(x: Any, ev: Event) -> bool:
                s = x if x.__class__ is str else to_str(x)
                return s is not None and len(s) >= min_len and search(s)
        else:
            def mre(x: Any, ev: Event) -> bool:
                s = x if x.__class__ is str else to_str(x)
                return s is not None and search(s)

        return mre, _union(reqs)

    def _values(self, values: list[SigmaType], and_linked: bool) -> tuple[ValueMatcher, Req]:
        if not and_linked:
            strs = [v for v in values if isinstance(v, SigmaString)]
            rxs = [v for v in values if isinstance(v, SigmaRegularExpression)]
            others = [self.value(v) for v in values if not isinstance(v, (SigmaString, SigmaRegularExpression))]
            parts: list[tuple[ValueMatcher, Req]] = []
            if strs:
                parts.append(self.string_values(strs))
            if rxs:
                parts.append(self.regex_values(rxs))
            parts.extend(others)
            if len(parts) == 1:
                return parts[0]
            fns = tuple(f for f, _ in parts)
            return any_value(fns), _union([r for _, r in parts])
        subs = [self.value(v) for v in values]
        fns = tuple(f for f, _ in subs)
        return all_values(fns), _best([r for _, r in subs])

    def _field(self, get: Callable[[Event], Any], vm: ValueMatcher, values: list[SigmaType],
               and_linked: bool) -> Matcher:
        if and_linked:
            subs = tuple(self.value(v)[0] for v in values)

            def m_all(ev: Event) -> bool:
                x = get(ev)
                if x is MISSING or x is None:
                    return False
                xs = x if isinstance(x, list) else [x]
                return all(any(f(e, ev) for e in xs) for f in subs)

            return m_all

        def m(ev: Event) -> bool:
            x = get(ev)
            if x is MISSING or x is None:
                return False
            if isinstance(x, list):
                for e in x:  # noqa: SIM110 - no generator per call
                    if vm(e, ev):
                        return True
                return False
            return vm(x, ev)

        self.ir[id(m)] = ("field", m, (get, vm))
        return m

    def _keyword(self, values: list[SigmaType], and_linked: bool) -> Matcher:
        subs = tuple(self.value(v)[0] for v in values) if and_linked else (self._values(values, False)[0],)

        def m(ev: Event) -> bool:
            scalars = event_strings(ev)
            return all(any(f(s, ev) for s in scalars) for f in subs)

        return m

    def _null_exists_item(self, it: SigmaDetectionItem, values: list[SigmaType],
                          and_linked: bool) -> tuple[Matcher, Req]:
        if it.field is None:
            raise CompileError("null/exists without a field name")
        get = self.accessor(it.field)
        others = [v for v in values if not isinstance(v, (SigmaNull, SigmaExists))]
        om = self._field(get, *self._values(others, and_linked)[:1], others, and_linked) if others else None
        checks: list[Matcher] = []
        for v in values:
            if isinstance(v, SigmaNull):
                checks.append(lambda ev: get(ev) in (MISSING, None))
            elif isinstance(v, SigmaExists):
                want = bool(v.exists)
                checks.append(lambda ev, want=want: (get(ev) not in (MISSING, None)) is want)  # type: ignore[misc]
        if om is not None:
            checks.append(om)
        fns = tuple(checks)
        if and_linked:
            return all_of(fns), ()
        return any_of(fns), ()

    def detection(self, det: SigmaDetection) -> tuple[Matcher, Req]:
        subs: list[tuple[Matcher, Req]] = []
        items: list[Any] = list(det.detection_items)
        if det.item_linking is ConditionOR and len(items) > 1:
            items = self._merge_or_items(items, subs)
        for it in items:
            subs.append(self.detection(it) if isinstance(it, SigmaDetection) else self.item(it))
        fns = tuple(f for f, _ in subs)
        if len(fns) == 1:
            return subs[0]
        if det.item_linking is ConditionOR:
            return self.any(fns), _union([r for _, r in subs])
        return self.all(fns), _best([r for _, r in subs])

    def _merge_or_items(self, items: list[Any], subs: list[tuple[Matcher, Req]]) -> list[Any]:
        """OR-linked items on one field (``- CommandLine|re: a`` / ``- CommandLine|re: b``) as one item.

        A field matches one of several items exactly when it matches one of their values, so their values
        become one OR-linked list (strings grouped, regular expressions in one RE2 pass). Only plain items
        merge: not negated, values OR-linked, no null/exists. Appends the merged matchers to ``subs`` and
        returns the items left as they were.
        """
        groups: dict[str, list[SigmaType]] = {}
        rest: list[Any] = []
        for it in items:
            if (isinstance(it, SigmaDetectionItem) and it.field is not None and not it.negated
                    and (it.value_linking is not ConditionAND or len(it.value) == 1)
                    and not any(isinstance(v, (SigmaNull, SigmaExists)) for v in it.value)):
                groups.setdefault(it.field, []).extend(it.value)
            else:
                rest.append(it)
        for fld, values in groups.items():
            vm, req = self._values(values, False)
            subs.append((self._field(self.accessor(fld), vm, values, False), req))
        return rest

    # -- condition

    def condition(self, node: Any, dets: dict[str, tuple[Matcher, Req]]) -> tuple[Matcher, Req]:
        if isinstance(node, ConditionIdentifier):
            name = node.identifier
            if name not in dets:
                raise CompileError(f"condition names a detection that does not exist: {name!r}")
            return dets[name]
        if isinstance(node, ConditionSelector):
            subs = [dets[n] for n in _selector_names(node, dets)]
            fns = tuple(f for f, _ in subs)
            if node.cond_class is ConditionAND:
                return self.all(fns), _best([r for _, r in subs])
            return self.any(fns), _union([r for _, r in subs])
        if isinstance(node, ConditionNOT):
            inner, _ = self.condition(node.args[0], dets)
            return self.negate(inner), ()
        if isinstance(node, (ConditionAND, ConditionOR)):
            subs = [self.condition(a, dets) for a in node.args]
            fns = tuple(f for f, _ in subs)
            if isinstance(node, ConditionAND):
                return self.all(fns), _best([r for _, r in subs])
            return self.any(fns), _union([r for _, r in subs])
        if isinstance(node, ConditionItem):
            raise CompileError(f"condition element {type(node).__name__} is not supported")
        raise CompileError(f"condition element {node!r} is not supported")


def _selector_names(node: ConditionSelector, dets: dict[str, Any]) -> list[str]:
    """The detections ``1 of``/``all of`` PATTERN refers to (``them``: all but those starting with ``_``)."""
    pat = node.pattern
    if pat == "them":
        names = [n for n in dets if not n.startswith("_")]
    else:
        rx = re.compile(re.escape(pat).replace(r"\*", ".*"))
        names = [n for n in dets if rx.fullmatch(n) and (pat.startswith("_") or not n.startswith("_"))]
    if not names:
        raise CompileError(f"condition selector '{' '.join(node.args)}' matches no detection")
    return names


def implied_results(node: Any, dets: dict[str, Any], want: bool = True,
                    out: dict[str, bool] | None = None) -> dict[str, bool]:
    """Detections whose result follows from the condition ``node`` evaluating to ``want``.

    For ``sel and not filter`` that matched, ``sel`` matched and ``filter`` did not: an alert's explanation
    then needs no second evaluation of those. Only what pure boolean logic forces is recorded (an AND that
    is true, an OR that is false, through NOT); detections under a true OR stay unknown.
    """
    if out is None:
        out = {}
    if isinstance(node, ConditionIdentifier):
        if node.identifier in dets:
            out[node.identifier] = want
    elif isinstance(node, ConditionSelector):
        if (node.cond_class is ConditionAND) is want:
            for n in _selector_names(node, dets):
                out[n] = want
    elif isinstance(node, ConditionNOT):
        implied_results(node.args[0], dets, not want, out)
    elif isinstance(node, ConditionAND if want else ConditionOR):
        for a in node.args:
            implied_results(a, dets, want, out)
    return out


def _unanchored(v: SigmaType) -> SigmaType:
    """Keywords are full-text searches: a plain keyword matches anywhere inside a value."""
    if not isinstance(v, SigmaString) or not v.s:
        return v
    out = v
    if out.s[0] is not SpecialChars.WILDCARD_MULTI:
        out = SpecialChars.WILDCARD_MULTI + out
    if out.s[-1] is not SpecialChars.WILDCARD_MULTI:
        out = out + SpecialChars.WILDCARD_MULTI
    if isinstance(v, SigmaCasedString) and not isinstance(out, SigmaCasedString):
        out = SigmaCasedString.from_sigma_string(out)
    return out


class _Slot(threading.local):
    sp_ev: Any = None
    spaced: dict[str, Any] = {}  # noqa: RUF012 - per-thread, replaced per event
    #: (the event at hand, its field values: accessor id -> value), shared by every rule; one attribute, as
    #: each read of a thread-local attribute costs (the default is never written to: no event is None)
    acc: tuple[Any, dict[int, Any]] = (None, {})


_slot = _Slot()
_NO_EVENT: tuple[Any, dict[int, Any]] = (None, {})


def invalidate_view() -> None:
    """Forget per-event caches (call before evaluating an event object that may have been mutated)."""
    _slot.sp_ev = None
    _slot.acc = _NO_EVENT
    if _sigeval is not None:
        _sigeval.invalidate()
    if len(_LOWER) > 4096:
        _LOWER.clear()


def _walk(doc: Any, out: list[str], strings_only: bool) -> None:
    if isinstance(doc, dict):
        vals: Any = doc.values()
        ev = doc.get("event")
        if isinstance(ev, dict) and "original" in ev:
            # the raw record duplicates the parsed fields; searching it twice doubles the work
            vals = [v for k, v in doc.items() if k != "event"]
            vals.append({k: v for k, v in ev.items() if k != "original"})
    else:
        vals = doc
    for v in vals:
        if isinstance(v, str):
            if v:
                out.append(v)
        elif isinstance(v, (dict, list)):
            _walk(v, out, strings_only)
        elif v is not None and not strings_only:
            xs = to_str(v)
            if xs:
                out.append(xs)


#: a prune tree: key -> LEAF (keep the whole value) or a subtree; SPACED -> names written without their spaces
PruneTree = dict[Any, Any]
LEAF: Any = None
SPACED: Any = object()


def prune_tree(paths: Any) -> PruneTree:
    """The tree of what the accessors of dotted ``paths`` can read, for :func:`pruned`.

    A dotted path is also kept as a top-level key (accessors try a literal dotted key first); ``~a.b.Name``
    (a key written with spaces) keeps, under ``a.b``, every key that reads ``Name`` once its spaces are removed.
    """
    root: PruneTree = {}
    for p in sorted(paths):
        spaced = p.startswith("~")
        parts = p.lstrip("~").split(".")
        if len(parts) > 1 and not spaced:
            root[p] = LEAF
        node: Any = root
        for part in parts[:-1]:
            if part in node and node[part] is LEAF:
                break  # an ancestor is kept whole
            node = node.setdefault(part, {})
        else:
            if spaced:
                node.setdefault(SPACED, set()).add(parts[-1])
            else:
                node[parts[-1]] = LEAF  # replaces any subtree: the whole value is kept
    return root


def pruned(doc: dict[str, Any], tree: PruneTree) -> dict[str, Any]:
    """The part of ``doc`` that accessors of the tree's paths can read (same nesting, other keys left out)."""
    out: dict[str, Any] = {}
    for k in doc.keys() & tree.keys():
        sub = tree[k]
        v = doc[k]
        if sub is LEAF:
            out[k] = v
        elif isinstance(v, dict):
            pv = pruned(v, sub)
            if pv:
                out[k] = pv
    names = tree.get(SPACED)
    if names:
        for k, v in doc.items():
            if isinstance(k, str) and " " in k and k.replace(" ", "") in names:
                out[k] = v
    return out


#: dicts with more keys than this are read by a remembered plan per key layout (Windows ``event_data``); smaller
#: ones (most ECS objects) by a loop over their keys, which costs less than building the layout's key
PLAN_MIN_KEYS = 12
#: most distinct key layouts a node remembers (events of one kind share their layout)
EXTRACT_PLANS = 256


def value_extractor(tree: PruneTree) -> Callable[[dict[str, Any], list[Any]], None]:
    """Appends to a list every value of an event the accessors of the tree's paths can read (see :func:`pruned`).

    Specialised to one tree at bucket build time: each node is a closure holding the keys it keeps whole (a set)
    and the short tuple of subtrees to descend into. A large dict (more than :data:`PLAN_MIN_KEYS` keys) is read
    by the plan its node remembers for its key layout (the tuple of its keys, in order, which events of one kind
    share): the kept keys, read by a native ``map``, instead of a Python test per key. The prefilter searches the
    JSON of these values only: keys are not values, and left out they neither lengthen the text nor hit
    literals (``logon`` in ``SubjectLogonId``).
    """
    leaves = frozenset(k for k, v in tree.items() if k is not SPACED and v is LEAF)
    subs = tuple((k, value_extractor(v)) for k, v in tree.items() if k is not SPACED and v is not LEAF)
    names = tree.get(SPACED) or None
    n_leaves = len(leaves)
    plans: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def keep(k: Any) -> bool:
        # a key that is not a string is never read by an accessor (paths are strings; ``_spaced`` skips it)
        return k in leaves or (names is not None and isinstance(k, str) and " " in k and k.replace(" ", "") in names)

    def extract(doc: dict[str, Any], out: list[Any]) -> None:
        # a plan pays for the layout's key tuple (build, hash, compare): worth it unless a few kept keys can be
        # looked up directly (``winlog``: 14 keys, 2-3 kept)
        if len(doc) > PLAN_MIN_KEYS and (names is not None or n_leaves >= len(doc)):
            layout = tuple(doc)
            kept = plans.get(layout)
            if kept is None:
                kept = tuple(k for k in layout if keep(k))
                if len(plans) < EXTRACT_PLANS:
                    plans[layout] = kept
            if kept:
                out.extend(map(doc.__getitem__, kept))
        elif names is not None:
            for k, v in doc.items():
                if k in leaves or (isinstance(k, str) and " " in k and k.replace(" ", "") in names):
                    out.append(v)
        elif len(doc) <= n_leaves:
            for k, v in doc.items():
                if k in leaves:
                    out.append(v)
        else:
            for k in leaves:
                if k in doc:
                    out.append(doc[k])
        for k, sub in subs:
            v = doc.get(k)
            if isinstance(v, dict):
                sub(v, out)

    return extract


def _null(_: Any) -> None:
    return None


def event_haystack(ev: Event | list[Any], strip_original: bool = True) -> bytes | None:
    """The event as case-folded JSON (UTF-8), the text the prefilter's literals are searched in; None if it has none.

    One ``orjson`` call walks the event in native code (the engine passes the list of values its rules read,
    from :func:`value_extractor`, for field literals, and the whole event for keyword literals).
    ``event.original`` (the raw record, which repeats the parsed fields) is left out of an event when
    ``strip_original``: keywords do not search it. Values of types
    JSON cannot write become ``null`` (no literal-requiring matcher accepts them); an event orjson refuses
    (integers beyond 64 bits, lone surrogates, nesting deeper than 254) gives None: the engine then
    evaluates every rule of the logsource.
    """
    if strip_original and isinstance(ev, dict):
        inner = ev.get("event")
        if isinstance(inner, dict) and "original" in inner:
            inner = inner.copy()
            del inner["original"]
            ev = ev.copy()
            ev["event"] = inner
    try:
        raw = orjson.dumps(ev, default=_null)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        try:  # keys that are not strings (rare): orjson's slower mode writes them as strings
            raw = orjson.dumps(ev, default=_null, option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, TypeError, ValueError):
            return None
    return fold(raw)


def fold_py(raw: bytes) -> bytes:
    """The case fold of a UTF-8 JSON text: ``bytes.lower`` of ASCII text, else ``str.casefold`` (context-free)."""
    if raw.isascii():
        return raw.lower()  # the case fold of ASCII text
    return raw.decode().casefold().encode()


#: :func:`fold_py`, natively when ``_sigscan`` is built (one pass, 8 bytes at a time; ``bytes.lower`` and
#: ``isascii`` were ~8 % of a Windows event's instructions)
fold: Callable[[bytes], bytes] = _sigscan.fold if _sigscan is not None else fold_py


def event_strings(ev: Event) -> list[str]:
    """Every string value of the event (list elements included), for keyword searches."""
    out: list[str] = []
    _walk(ev, out, True)
    return out


def keyword_text_py(ev: Event) -> bytes | None:
    """The text keyword literals are searched in: the JSON list of :func:`event_strings`, case-folded.

    Keywords only ever compare one string value at a time (:meth:`Compiler._keyword`), so every string a
    keyword can match is in this text, written as in the field text (JSON-escaped, folded); keys, numbers and
    punctuation are not (a literal found only there could never make a keyword match). ``b""`` without
    strings; None when there is no such text (lone surrogates, nesting too deep to walk): the engine then
    evaluates every rule of the logsource. ``_sigscan.keyword_text`` is the native twin.
    """
    try:
        strings = event_strings(ev)
    except RecursionError:
        return None
    if not strings:
        return b""
    try:
        raw = orjson.dumps(strings)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return None
    return fold(raw)


def _spaced(ev: Event, parent: tuple[str, ...]) -> dict[str, Any]:
    """Keys with spaces under ``parent`` (Windows Defender's ``Source Name``), without their spaces; cached."""
    slot = _slot
    if slot.sp_ev is ev:
        return slot.spaced
    cur: Any = ev
    for part in parent:
        cur = cur.get(part) if isinstance(cur, dict) else None
    out: dict[str, Any] = {}
    if isinstance(cur, dict):
        try:
            spaced = " " in "".join(cur)  # one native pass: most events have no key with a space
        except TypeError:  # a key that is not a string
            spaced = True
        if spaced:
            out = {k.replace(" ", ""): v for k, v in cur.items() if isinstance(k, str) and " " in k}
    slot.sp_ev, slot.spaced = ev, out
    return out


_ACCESSORS: dict[tuple[str, ...], Callable[[Event], Any]] = {}
_ACCESSOR_IDS = itertools.count()  # unique even when two threads compile rules at once
_UNSET: Any = object()
#: lower-case forms of the strings of recent events (many rules lower the same CommandLine); pure, so never stale
_LOWER: dict[str, str] = {}


def lower(s: str) -> str:
    low = _LOWER.get(s)
    if low is None:
        low = _LOWER[s] = s.lower()
    return low


def make_accessor(paths: list[str]) -> Callable[[Event], Any]:
    """A getter trying dotted ``paths`` in order (literal dotted keys, then nesting); ``MISSING`` if none.

    A path starting with ``~`` names a key written with spaces in the event (``~winlog.event_data.SourceName``
    finds ``Source Name``); only ``winlog.event_data`` is used this way. One getter per list of paths is
    shared by every rule, and remembers its value for the event at hand (until :func:`invalidate_view` or
    another event), so a field many candidate rules test is looked up once.
    """
    key = tuple(paths)
    acc = _ACCESSORS.get(key)
    if acc is None:
        aid = next(_ACCESSOR_IDS)
        # native twin of _memo(aid, _lookup(paths)) (``_sigeval.c``): one C call per read instead of two frames
        acc = _ACCESSORS[key] = (_sigeval.Accessor(aid, _split_paths(paths)) if _sigeval is not None
                                 else _memo(aid, _lookup(paths)))
    return acc


def _memo(aid: int, look: Callable[[Event], Any]) -> Callable[[Event], Any]:
    # with _lookup: the pure-Python twin of ``_sigeval.Accessor`` (tests/sigma/test_sigeval.py compares them)
    slot = _slot

    def get(ev: Event) -> Any:
        cur = slot.acc
        if cur[0] is ev:
            vals = cur[1]
            v = vals.get(aid, _UNSET)
            if v is not _UNSET:
                return v
        else:
            vals = {}
            slot.acc = (ev, vals)
        v = vals[aid] = look(ev)
        return v

    return get


def _split_paths(paths: list[str]) -> tuple[tuple[str, tuple[str, ...], bool, tuple[str, ...], str], ...]:
    """The paths tried in order, prepared: (path, nested parts, spaced?, parent, leaf)."""
    return tuple((p, parts, p.startswith("~"), parts[:-1], parts[-1])
                 for p in paths for parts in (tuple(p.lstrip("~").split(".")),))


def _lookup(paths: list[str]) -> Callable[[Event], Any]:
    split = _split_paths(paths)  # inlined below (no call per path)

    def get(ev: Event) -> Any:
        for p, parts, spaced, parent, leaf in split:
            if spaced:
                v = _spaced(ev, parent).get(leaf, MISSING)
                if v is not MISSING:
                    return v
                continue
            if p in ev:
                return ev[p]
            cur: Any = ev
            for part in parts:
                if not isinstance(cur, dict):
                    cur = MISSING
                    break
                cur = cur.get(part, MISSING)
                if cur is MISSING:
                    break
            if cur is not MISSING:
                return cur
        return MISSING

    return get


if _sigeval is not None:
    _sigeval.init(MISSING, _spaced)


def detection_fields(det: SigmaDetection) -> list[str | None]:
    """Field names a detection uses (``None`` for keywords), for match explanations."""
    out: list[str | None] = []
    for it in det.detection_items:
        if isinstance(it, SigmaDetection):
            out.extend(detection_fields(it))
        elif it.field not in out:
            out.append(it.field)
    return out


def parse_condition(cond: Any) -> Any:
    """The raw parse tree of a condition string (identifiers unresolved)."""
    return cond.parse(postprocess=False)


__all__ = ["MISSING", "CompileError", "Compiler", "ConditionOR", "Req", "union_reqs", "detection_fields", "implied_results",
           "iter_scalars", "make_accessor", "parse_condition", "to_str"]
