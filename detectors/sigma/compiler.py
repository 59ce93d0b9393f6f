"""Compile a Sigma rule's detection into Python closures over plain dict events.

pySigma parses the rule and applies the value modifiers (``contains``, ``base64``,
``windash``...), so values arrive here already transformed into typed objects
(``SigmaString`` with wildcards, ``SigmaRegularExpression``, ``SigmaCIDRExpression``...).
We turn each into a small matcher and, alongside, compute the rule's *required
literals*: a set of lower-case strings of which at least one must occur in the
event's values for the rule to possibly match (``None`` when no such set exists,
e.g. under ``not`` or for a CIDR). The engine feeds these to an Aho-Corasick
automaton so that an event is only evaluated against rules that can match it.

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
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from itertools import product
from typing import Any

import ahocorasick
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
    """The string form of a scalar event value used for string comparisons (and the prefilter)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return None


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


def _union(reqs: list[Req]) -> Req:
    """OR: one clause, the union of one clause per child; no constraint if a child has none."""
    lits: set[str] = set()
    for r in reqs:
        if not r:
            return ()
        lits |= max(r, key=_local_score)
    return (frozenset(lits),)


def union_reqs(reqs: list[Req]) -> Req:
    return _union(reqs)


def useful(lit: str) -> bool:
    """Worth requiring: long enough, or one non-ASCII character (emoji, homoglyphs), rare in logs."""
    return len(lit) >= MIN_LITERAL or (len(lit) == 1 and ord(lit) > 127)


def _string_literal(s: SigmaString) -> frozenset[str] | None:
    parts = [p.lower() for p in s.s if isinstance(p, str)]
    if not parts:
        return None
    lit = max(parts, key=len)
    return frozenset({lit}) if useful(lit) else None


# Field-tagged literals. The field haystack is made of one segment per value, ``SEG + <path id> + TAG + value``,
# followed by SEG, so a whole-value literal can name its field: ``SEG id TAG value SEG`` (equals),
# ``SEG id TAG prefix`` (startswith) and ``suffix SEG`` (endswith). They hit far less often than bare substrings.
SEG = "\x1f"
TAG = "\x1e"
_PATH_IDS: dict[str, int] = {}


def path_id(path: str) -> int:
    """A small number naming an accessor path in haystack segments (process-wide, stable while running)."""
    pid = _PATH_IDS.get(path)
    if pid is None:
        pid = _PATH_IDS[path] = len(_PATH_IDS)
    return pid


def _tagged(pids: list[int], core: str, kind: str) -> frozenset[str] | None:
    if kind == "eq":
        return frozenset(f"{SEG}{i}{TAG}{core}{SEG}" for i in pids)
    if kind == "sw":
        return frozenset(f"{SEG}{i}{TAG}{core}" for i in pids) if core else None
    return frozenset({core + SEG}) if useful(core) else None  # "ew"


@lru_cache(maxsize=4096)
def regex_literal(pattern: str) -> str | None:
    """Longest run of literal characters every match of ``pattern`` must contain (top level only)."""
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except Exception:
        return None
    literal_op = re._constants.LITERAL  # type: ignore[attr-defined]
    best, run = "", []
    for op, arg in parsed:
        if op is literal_op:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    best = best.lower()
    return best if useful(best) else None


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
        self._tag_pids: list[int] | None = None  # path ids of the field item being compiled (tagged literals)

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
        rx: list[Any] = []
        cased: list[ValueMatcher] = []
        reqs: list[Req] = []
        pids = self._tag_pids
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
                    rx.append(compile_re2(r"(?s)\A.*\z"))
                elif all(isinstance(p, str) for p in core):
                    lit = "".join(p for p in core if isinstance(p, str)).lower()
                    kind = "cont" if lead and trail else "ew" if lead else "sw" if trail else "eq"
                    if pids and kind != "cont":
                        reqs.append(_leaf(_tagged(pids, lit, kind)))
                    else:
                        reqs.append(_leaf(frozenset({lit}) if useful(lit) else None))
                    if kind == "eq":
                        eq.add(lit)
                    else:
                        {"cont": cont, "ew": ew, "sw": sw}[kind].append(lit)
                else:
                    reqs.append(_leaf(_string_literal(s)))
                    rx.append(compile_re2(_wild_regex(s, lower=True)))
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
        rxt = tuple(r.search for r in rx)
        casedt = tuple(cased)

        def m(x: Any, ev: Event) -> bool:
            s = to_str(x)
            if s is None:
                return False
            if casedt:
                for cm in casedt:
                    if cm(s, ev):
                        return True
            low = s.lower()
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
            return any(r(low) is not None for r in rxt)

        return m, _union(reqs)

    def _cased(self, s: SigmaString) -> ValueMatcher:
        parts = s.s
        if all(isinstance(p, str) for p in parts):
            lit = "".join(p for p in parts if isinstance(p, str))
            return lambda x, ev: x == lit
        r = compile_re2(_wild_regex(s, lower=False)).search
        return lambda x, ev: r(x) is not None

    def value(self, v: SigmaType) -> tuple[ValueMatcher, Req]:
        if isinstance(v, SigmaString):
            return self.string_values([v])
        if isinstance(v, SigmaExpansion):
            subs = [self.value(x) for x in v.values]
            fns = tuple(f for f, _ in subs)
            return (lambda x, ev: any(f(x, ev) for f in fns)), _union([r for _, r in subs])
        if isinstance(v, SigmaRegularExpression):
            pat = str(v.regexp)
            flags = "".join(c for f, c in ((SigmaRegularExpressionFlag.IGNORECASE, "i"),
                                           (SigmaRegularExpressionFlag.MULTILINE, "m"),
                                           (SigmaRegularExpressionFlag.DOTALL, "s")) if f in v.flags)
            search = compile_re2((f"(?{flags})" if flags else "") + pat).search
            lit = regex_literal(pat)

            def mre(x: Any, ev: Event) -> bool:
                s = to_str(x)
                return s is not None and search(s) is not None

            return mre, _leaf(frozenset({lit}) if lit else None)
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

            def mnum(x: Any, ev: Event) -> bool:
                if isinstance(x, bool):
                    return False
                if isinstance(x, (int, float)):
                    return x == n
                if isinstance(x, str):
                    if x == ns:
                        return True
                    f = _to_float(x)
                    return f is not None and f == n
                return False

            lit = ns if isinstance(n, int) and len(ns) >= MIN_LITERAL else None
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
                self._tag_pids = None
            else:
                self._tag_pids = [path_id(p) for p in logsources.field_paths(self.key, it.field)]
            try:
                vm, req = self._values(values, and_linked)
            finally:
                self._tag_pids = None
            if it.field is None:
                m = self._keyword(values, and_linked)
            else:
                m = self._field(self.accessor(it.field), vm, values, and_linked)
        if it.negated:
            inner = m
            return (lambda ev: not inner(ev)), ()
        if it.field is None:
            for clause in req:
                self.keyword_literals.update(clause)
        return m, req

    def _values(self, values: list[SigmaType], and_linked: bool) -> tuple[ValueMatcher, Req]:
        if not and_linked:
            strs = [v for v in values if isinstance(v, SigmaString)]
            others = [self.value(v) for v in values if not isinstance(v, SigmaString)]
            parts: list[tuple[ValueMatcher, Req]] = []
            if strs:
                parts.append(self.string_values(strs))
            parts.extend(others)
            if len(parts) == 1:
                return parts[0]
            fns = tuple(f for f, _ in parts)
            return (lambda x, ev: any(f(x, ev) for f in fns)), _union([r for _, r in parts])
        subs = [self.value(v) for v in values]
        fns = tuple(f for f, _ in subs)
        return (lambda x, ev: all(f(x, ev) for f in fns)), _best([r for _, r in subs])

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
                return any(vm(e, ev) for e in x)
            return vm(x, ev)

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
            return (lambda ev: all(f(ev) for f in fns)), ()
        return (lambda ev: any(f(ev) for f in fns)), ()

    def detection(self, det: SigmaDetection) -> tuple[Matcher, Req]:
        subs: list[tuple[Matcher, Req]] = []
        for it in det.detection_items:
            subs.append(self.detection(it) if isinstance(it, SigmaDetection) else self.item(it))
        fns = tuple(f for f, _ in subs)
        if len(fns) == 1:
            return subs[0]
        if det.item_linking is ConditionOR:
            return (lambda ev: any(f(ev) for f in fns)), _union([r for _, r in subs])
        # evaluate the cheapest-to-reject items first: those with literals tend to fail fast
        return (lambda ev: all(f(ev) for f in fns)), _best([r for _, r in subs])

    # -- condition

    def condition(self, node: Any, dets: dict[str, tuple[Matcher, Req]]) -> tuple[Matcher, Req]:
        if isinstance(node, ConditionIdentifier):
            name = node.identifier
            if name not in dets:
                raise CompileError(f"condition names a detection that does not exist: {name!r}")
            return dets[name]
        if isinstance(node, ConditionSelector):
            pat = node.pattern
            if pat == "them":
                names = [n for n in dets if not n.startswith("_")]
            else:
                rx = re.compile(re.escape(pat).replace(r"\*", ".*"))
                names = [n for n in dets if rx.fullmatch(n) and (pat.startswith("_") or not n.startswith("_"))]
            if not names:
                raise CompileError(f"condition selector '{' '.join(node.args)}' matches no detection")
            subs = [dets[n] for n in names]
            fns = tuple(f for f, _ in subs)
            if node.cond_class is ConditionAND:
                return (lambda ev: all(f(ev) for f in fns)), _best([r for _, r in subs])
            return (lambda ev: any(f(ev) for f in fns)), _union([r for _, r in subs])
        if isinstance(node, ConditionNOT):
            inner, _ = self.condition(node.args[0], dets)
            return (lambda ev: not inner(ev)), ()
        if isinstance(node, (ConditionAND, ConditionOR)):
            subs = [self.condition(a, dets) for a in node.args]
            fns = tuple(f for f, _ in subs)
            if isinstance(node, ConditionAND):
                if len(fns) == 2:
                    a, b = fns
                    return (lambda ev: a(ev) and b(ev)), _best([r for _, r in subs])
                return (lambda ev: all(f(ev) for f in fns)), _best([r for _, r in subs])
            return (lambda ev: any(f(ev) for f in fns)), _union([r for _, r in subs])
        if isinstance(node, ConditionItem):
            raise CompileError(f"condition element {type(node).__name__} is not supported")
        raise CompileError(f"condition element {node!r} is not supported")


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
    hay_ev: Any = None
    hay: str = ""
    sp_ev: Any = None
    spaced: dict[str, Any] = {}  # noqa: RUF012 - per-thread, replaced per event


_slot = _Slot()
HAY_SEP = "\x1f"


def invalidate_view() -> None:
    """Forget per-event caches (call before evaluating an event object that may have been mutated)."""
    _slot.hay_ev = None
    _slot.sp_ev = None


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


PathTrie = dict[str, Any]


def path_trie(paths: Any) -> PathTrie:
    """A tree of the dotted ``paths`` (accessor syntax) for :func:`field_haystack`.

    A leaf is the path's id (:func:`path_id`). A dotted path is also a top-level leaf, as accessors try a
    literal dotted key first; ``~a.b.Name`` (a key written with spaces) becomes the leaf ``~Name`` under ``a.b``.
    A path that is a prefix of another one keeps both: its leaf sits under the key ``""`` of its node.
    """
    root: PathTrie = {}
    for p in sorted(paths):
        pid = path_id(p)
        spaced = p.startswith("~")
        parts = p.lstrip("~").split(".")
        if len(parts) > 1 and not spaced:
            _put(root, p, pid)
        node: Any = root
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {} if nxt is None else {"": nxt}
            node = nxt
        _put(node, ("~" + parts[-1]) if spaced else parts[-1], pid)
    return root


def _put(node: dict[str, Any], key: str, pid: int) -> None:
    cur = node.get(key)
    if isinstance(cur, dict):
        cur[""] = pid
    else:
        node[key] = pid


def _segments(v: Any, pid: int, out: list[str]) -> None:
    """Segments of the value an accessor of path ``pid`` returns: a scalar, or each scalar of a list.

    Objects (and objects or lists inside lists) are left out: no matcher that requires a literal accepts them.
    """
    if isinstance(v, str):
        out.append(f"{SEG}{pid}{TAG}{v}")
    elif isinstance(v, list):
        for x in v:
            xs = to_str(x)
            if xs is not None:
                out.append(f"{SEG}{pid}{TAG}{xs}")
    elif v is not None and not isinstance(v, dict):
        xs = to_str(v)
        if xs is not None:
            out.append(f"{SEG}{pid}{TAG}{xs}")


def _collect(doc: dict[str, Any], node: PathTrie, out: list[str]) -> None:
    for k, v in doc.items():
        sub = node.get(k)
        if sub is None:
            if " " not in k:
                continue
            sub = node.get("~" + k.replace(" ", ""))
            if sub is None:
                continue
        if type(sub) is int:
            _segments(v, sub, out)
        elif isinstance(v, dict):
            _collect(v, sub, out)
        elif "" in sub:
            _segments(v, sub[""], out)


def field_haystack(ev: Event, trie: PathTrie) -> str:
    """The values at the paths of ``trie`` as tagged segments (each distinct one once), lower-cased and joined.

    Every literal a field matcher requires occurs in the value it reads, so searching only the fields that a
    bucket's rules read loses no candidate while skipping the ECS copies and metadata no rule looks at.
    """
    out: list[str] = []
    _collect(ev, trie, out)
    return ("".join(set(out)) + SEG).lower()


def _walk_both(doc: dict[str, Any], node: PathTrie | None, fields: list[str], text: list[str]) -> None:
    for k, v in doc.items():
        sub = None
        if node is not None:
            sub = node.get(k)
            if sub is None and " " in k:
                sub = node.get("~" + k.replace(" ", ""))
        if isinstance(v, str):
            if v:
                text.append(v)
        elif isinstance(v, dict):
            _walk_both(v, sub if isinstance(sub, dict) else None, fields, text)
            continue
        elif isinstance(v, list):
            _walk(v, text, False)
        elif v is not None:
            xs = to_str(v)
            if xs:
                text.append(xs)
        if sub is not None:
            if type(sub) is int:
                _segments(v, sub, fields)
            elif "" in sub:
                _segments(v, sub[""], fields)


def haystacks(ev: Event, trie: PathTrie) -> tuple[str, str]:
    """(:func:`field_haystack`, every value of the event joined and lower-cased) in one walk, for keyword literals."""
    fields: list[str] = []
    text: list[str] = []
    inner = ev.get("event")
    if isinstance(inner, dict) and "original" in inner:
        # the raw record duplicates the parsed fields: keywords do not search it (a rule may read it as a field)
        _walk_both({k: v for k, v in ev.items() if k != "event"}, trie, fields, text)
        _walk_both({"event": {k: v for k, v in inner.items() if k != "original"}}, trie, fields, text)
        orig = trie.get("event")
        if isinstance(orig, dict) and "original" in orig:
            _collect({"original": inner["original"]}, orig, fields)
    else:
        _walk_both(ev, trie, fields, text)
    return ("".join(set(fields)) + SEG).lower(), HAY_SEP.join(text).lower()


def event_strings(ev: Event) -> list[str]:
    """Every string value of the event (list elements included), for keyword searches."""
    out: list[str] = []
    _walk(ev, out, True)
    return out


def _spaced(ev: Event, parent: tuple[str, ...]) -> dict[str, Any]:
    """Keys with spaces under ``parent`` (Windows Defender's ``Source Name``), without their spaces; cached."""
    slot = _slot
    if slot.sp_ev is ev:
        return slot.spaced
    cur: Any = ev
    for part in parent:
        cur = cur.get(part) if isinstance(cur, dict) else None
    out = {k.replace(" ", ""): v for k, v in cur.items() if " " in k} if isinstance(cur, dict) else {}
    slot.sp_ev, slot.spaced = ev, out
    return out


def make_accessor(paths: list[str]) -> Callable[[Event], Any]:
    """A getter trying dotted ``paths`` in order (literal dotted keys, then nesting); ``MISSING`` if none.

    A path starting with ``~`` names a key written with spaces in the event (``~winlog.event_data.SourceName``
    finds ``Source Name``); only ``winlog.event_data`` is used this way.
    """
    split = [(p, tuple(p.lstrip("~").split("."))) for p in paths]

    def get_one(ev: Event, p: str, parts: tuple[str, ...]) -> Any:
        if p[0] == "~":
            return _spaced(ev, parts[:-1]).get(parts[-1], MISSING)
        if p in ev:
            return ev[p]
        cur: Any = ev
        for part in parts:
            if not isinstance(cur, dict):
                return MISSING
            cur = cur.get(part, MISSING)
            if cur is MISSING:
                return MISSING
        return cur

    if len(split) == 1:
        p0, parts0 = split[0]
        return lambda ev: get_one(ev, p0, parts0)

    def get(ev: Event) -> Any:
        for p, parts in split:
            v = get_one(ev, p, parts)
            if v is not MISSING:
                return v
        return MISSING

    return get


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


__all__ = ["MISSING", "CompileError", "Compiler", "ConditionOR", "Req", "union_reqs", "detection_fields", "iter_scalars",
           "make_accessor", "parse_condition", "to_str"]
