"""The streaming Sigma engine: every loaded rule on every event, as it arrives.

Per event the engine (1) works out which logsources the event belongs to (cached
by a small signature of the event), (2) runs the Aho-Corasick automaton of that
combination of logsources over the JSON text (case-folded; written by ``_sigscan``
in C, or its Python twin in ``haystack.py``) of the part of the event its rules
read, with literals written as they appear in that text
(whole values quoted), plus, when a rule needs it, a small automaton of keyword
literals over the event's string values, (3) fully evaluates only the rules whose
required literals occur (plus rules that require none). With the C module, step 2 and
the selection are one call (``_sigscan.scan``, over our own automata, ``_sigscan.Automaton``); the
step-by-step Python path (``ahocorasick_rs``, ``_sigscan.select``) runs without it or for an event its
writers decline. Candidates share one per-event
view of field values, then (4) applies Sigma filters and suppressions and (5)
feeds correlation rules. ``process(event, naive=True)`` skips step 2; tests and
the benchmark use it to prove that the prefilter never loses a hit.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ahocorasick_rs

from detectors.base import make_alert
from soc.storage.schema import parse_ts

from . import logsources
from .compiler import MISSING, PruneTree, invalidate_view, keyword_text_py, prune_tree, value_extractor
from .correlation import CorrelationSpec, CorrelationState
from .haystack import (
    C_AUTOMATON,
    C_FIELD_TEXT,
    C_KEYWORD_TEXT,
    C_SCAN,
    C_SELECT,
    Matches,
    Node,
    Triggers,
    extractor_node,
    field_text_py,
    select_py,
)
from .loader import CompiledRule, RuleError, RuleSet, load_rules, rule_files
from .suppressions import Suppression, compile_suppressions, first_match

log = logging.getLogger(__name__)

ALL: logsources.LogsourceKey = ("*", "*", "*")
CHECK_MIN_LITERAL = 3
#: up to this many literals an automaton is a DFA: on the EVTX recordings a DFA of ~500-650 literals searched a
#: field text 25-60 % faster than a contiguous NFA (a few MiB each); from ~700 on it was no faster and much larger
DFA_MAX_LITERALS = 700
#: the native automaton's dense table (4 bytes per state and byte class) is at most this many cells (8 MiB); deeper
#: states keep only their trie edges and failure link (an NFA). As a full DFA each of the two process_creation
#: buckets of SigmaHQ (~12,500 literals, ~113,000 states, ~150 byte classes) would take ~65 MiB; this way ~14,000
#: shallow states, where a search spends nearly all its steps, are dense
NATIVE_MAX_CELLS = 2 << 20


class _Finder:
    """Which of a fixed list of literals occur in a text: one Aho-Corasick pass (Rust, over UTF-8).

    Pattern ``i`` is reported as ``offset + i`` (the literal ids of a bucket are numbered across its finders).
    Small sets get a DFA (fastest); large ones a contiguous NFA, as fast on our events and a tenth of the memory
    (see :data:`DFA_MAX_LITERALS`).
    """

    __slots__ = ("_ac", "_gate", "_offset", "gate", "search")

    def __init__(self, literals: list[str], offset: int = 0, *, gated: bool = False) -> None:
        impl = ahocorasick_rs.Implementation
        pats = [x.encode() for x in literals]
        self._ac = ahocorasick_rs.BytesAhoCorasick(
            pats, implementation=impl.DFA if len(literals) <= DFA_MAX_LITERALS else impl.ContiguousNFA)
        # For a text where the literals seldom occur (keywords in the whole event): a leftmost-first search
        # stops at the first occurrence of any literal and uses the crate's SIMD prefilter (an overlapping
        # search cannot), so "no match" costs a third; only then is the overlapping search needed.
        self._gate = ahocorasick_rs.BytesAhoCorasick(pats, matchkind=ahocorasick_rs.MatchKind.LeftmostFirst) \
            if gated else None
        self._offset = offset
        # bound methods for the per-event path (no Python frame of ``matches`` in between): ``search(text,
        # True)`` is ``matches`` without the gate, ``gate(text)`` is empty when no literal occurs
        self.search = self._ac.find_matches_as_indexes
        self.gate = self._gate.find_matches_as_indexes if self._gate is not None else None

    def matches(self, text: bytes) -> list[tuple[int, int, int]]:
        """Every occurrence of every literal (pattern index, start, end), as ``ahocorasick_rs`` gives them."""
        gate = self._gate
        if gate is not None and not gate.find_matches_as_indexes(text):
            return []
        return self._ac.find_matches_as_indexes(text, overlapping=True)

    def find(self, text: bytes) -> set[int]:
        """The literal ids (offset + pattern index) found in ``text``."""
        off = self._offset
        return {m[0] + off for m in self.matches(text)}


def _no_values(doc: dict[str, Any], out: list[Any]) -> None:
    return None


def _build_finders(b: _Bucket) -> None:
    """The Python path's automata of a bucket (``ahocorasick_rs``), once."""
    if b.flits:
        b.fields = _Finder(b.flits)
    if b.tlits:
        b.text = _Finder(b.tlits, offset=len(b.flits), gated=True)
    b.finders = True


@dataclass
class _Bucket:
    rules: list[int] = field(default_factory=list)
    always: list[int] = field(default_factory=list)
    #: what the bucket's rules read: field literals are searched in the JSON of those values only
    tree: PruneTree = field(default_factory=dict)
    extract: Callable[[dict[str, Any], list[Any]], None] = _no_values
    node: Node = (frozenset(), (), (), None, 0, {})  # the same walk for the native writer
    #: literals searched in the read part / in the whole event (keyword literals), as written in those texts
    flits: list[str] = field(default_factory=list)
    tlits: list[str] = field(default_factory=list)
    #: their native automata (``_sigscan.Automaton``), searched by ``_sigscan.scan``; ``native``: use them
    fac: Any = None
    kac: Any = None
    native: bool = False
    #: the ``ahocorasick_rs`` finders of the Python path, built when it first runs (without the C module, or for
    #: an event the native writer declines)
    fields: _Finder | None = None
    text: _Finder | None = None
    finders: bool = False
    #: literal id (field literals first, then keyword literals) -> the rules whose trigger clause contains it:
    #: those with no other clause to check (added at once), then those with other clauses as tuples of
    #: literal ids (each must have a found literal; the rarest first, so a miss is seen early)
    triggers: Triggers = field(default_factory=list)
    #: live[id] is 1 if literal ``id`` triggers some rule (the others only narrow a trigger's rules): only these
    #: are looped over
    live: bytes = b""
    #: number of field literals: a keyword pattern's literal id is n_fields + its index in ``text``
    n_fields: int = 0


def _clause_cost(clause: frozenset[str], df: Counter[str]) -> float:
    """Expected cost of triggering on ``clause``: literals used by many rules or short ones hit often."""
    return sum((df[lit] + 1) / min(len(lit), 12) ** 2 for lit in clause)


class SigmaEngine:
    """Sigma rules and correlations over a stream of ECS events (implements ``detectors.base.Detector``)."""

    name = "sigma"

    def __init__(self, paths: Iterable[str | Path], *, lateness_seconds: float = 60, max_state: int = 200_000,
                 state_path: Path | None = None, ignore_logsource: bool = False, field_mapping: bool = True,
                 placeholders: dict[str, list[str]] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        self.ignore_logsource = ignore_logsource
        self.field_mapping = field_mapping
        self.placeholders = placeholders
        self.state_path = Path(state_path) if state_path else None
        self.corr = CorrelationState(lateness_seconds, max_state)
        self.suppressions: list[Suppression] = []
        self.stats: dict[str, int] = {"events": 0, "candidates": 0, "matches": 0, "alerts": 0, "filtered": 0,
                                      "suppressed": 0}
        self._since_close = 0
        self._ruleset = RuleSet()
        self._load()
        if self.state_path is not None and self.state_path.exists():
            try:
                self.corr.load(self.state_path)
            except (ValueError, OSError) as exc:
                log.warning("correlation state not restored: %s", exc)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], **kwargs: Any) -> SigmaEngine:
        return cls(paths, **kwargs)

    # -- rules

    def _load(self) -> None:
        rs = load_rules(self.paths, ignore_logsource=self.ignore_logsource, field_mapping=self.field_mapping,
                        placeholders=self.placeholders)
        self._ruleset = rs
        self.corr.set_specs(dict(rs.correlations))
        self._by_corr_key: dict[str, CorrelationSpec] = {s.key: s for s in rs.correlations.values()}
        # downstream correlations of each correlation (chains)
        self._chains: dict[str, list[tuple[CorrelationSpec, int]]] = {}
        for s in rs.correlations.values():
            for pos, k in enumerate(s.refs):
                if k.startswith("c:"):
                    self._chains.setdefault(k[2:], []).append((s, pos))
        self._build_index()

    def _build_index(self) -> None:
        rules = self._ruleset.rules
        self._df: Counter[str] = Counter()
        for r in rules:
            for clause in r.req:
                self._df.update(clause)
        by_key: dict[logsources.LogsourceKey, list[int]] = {}
        for r in rules:
            if r.enabled:
                by_key.setdefault(ALL if self.ignore_logsource or r.key is None else r.key, []).append(r.idx)
        self._by_key = by_key
        # one merged bucket (one automaton pass) per combination of logsources an event belongs to
        self._dims_cache: dict[Any, _Bucket | None] = {}
        self._sig_cache: dict[logsources.Signature, _Bucket | None] = {}
        self._all_bucket = self._make_bucket(by_key.get(ALL, [])) if self.ignore_logsource else None

    def _make_bucket(self, idxs: list[int]) -> _Bucket | None:
        if not idxs:
            return None
        rules, df = self._ruleset.rules, self._df
        b = _Bucket(rules=sorted(set(idxs)))
        checks: dict[int, tuple[frozenset[int], ...]] = {}
        lit_ids: dict[tuple[bool, str], int] = {}  # (keyword?, literal) -> id
        triggers: list[list[int]] = []

        def lid(lit: str, kw: bool) -> int:
            k = (kw, lit)
            if k not in lit_ids:
                lit_ids[k] = len(lit_ids)
                triggers.append([])
            return lit_ids[k]

        paths: set[str] = set()
        chosen: list[tuple[int, frozenset[str]]] = []
        for idx in b.rules:
            r = rules[idx]
            paths |= r.compiler.paths
            if not r.req:
                b.always.append(idx)
                continue
            kws = r.compiler.keyword_literals
            # a keyword literal needs the whole event's text: prefer clauses that do without it
            trigger = min(r.req, key=lambda c: _clause_cost(c, df) * (4 if kws and not kws.isdisjoint(c) else 1))
            chosen.append((idx, trigger))
            for lit in trigger:
                triggers[lid(lit, lit in kws)].append(idx)
        use_text = any(kw for kw, _ in lit_ids)
        for idx, trigger in chosen:
            r = rules[idx]
            kws = r.compiler.keyword_literals
            # secondary clauses narrow candidates further, but only those made of longer literals:
            # short ones ("20", ".exe") would flood the automaton with hits on every event
            others = sorted((c for c in r.req if c is not trigger and min(len(x) for x in c) >= CHECK_MIN_LITERAL
                             and (use_text or kws.isdisjoint(c))), key=lambda c: _clause_cost(c, df))
            rest = tuple(frozenset(lid(x, x in kws) for x in c) for c in others)
            if rest:
                checks[idx] = rest
        b.tree = prune_tree(paths)
        b.extract = value_extractor(b.tree)
        b.node = extractor_node(b.tree)
        if lit_ids:
            # renumber: field literals first, so that each finder's pattern index is (offset +) the literal id
            order = sorted(lit_ids.items(), key=lambda kv: (kv[0][0], kv[1]))
            new = {old: i for i, (_, old) in enumerate(order)}
            flits = [lit for (kw, lit), _ in order if not kw]
            tlits = [lit for (kw, lit), _ in order if kw]
            b.flits, b.tlits = flits, tlits
            if C_AUTOMATON is not None:
                try:
                    b.fac = C_AUTOMATON([x.encode() for x in flits], NATIVE_MAX_CELLS) if flits else None
                    b.kac = C_AUTOMATON([x.encode() for x in tlits], NATIVE_MAX_CELLS) if tlits else None
                    b.native = True
                except ValueError:  # an empty literal or a pathological size: the Python path
                    b.fac = b.kac = None
            if not b.native:
                _build_finders(b)
            rest_of = {idx: tuple(tuple(sorted(new[i] for i in c)) for c in rest) for idx, rest in checks.items()}
            b.triggers = [(frozenset(), ())] * len(order)
            for old, rs in enumerate(triggers):
                b.triggers[new[old]] = (frozenset(idx for idx in rs if idx not in rest_of),
                                        tuple((idx, rest_of[idx]) for idx in rs if idx in rest_of))
            b.live = bytes(1 if plain or checked else 0 for plain, checked in b.triggers)
            b.n_fields = len(flits)
        return b

    @property
    def errors(self) -> list[tuple[str, int | None, str]]:
        return [e.as_tuple() for e in self._ruleset.errors]

    @property
    def rule_errors(self) -> list[RuleError]:
        return list(self._ruleset.errors)

    @property
    def rules(self) -> list[dict[str, Any]]:
        return self._ruleset.summaries()

    @property
    def compiled_rules(self) -> list[CompiledRule]:
        return list(self._ruleset.rules)

    def set_enabled(self, rule_id: str, enabled: bool) -> bool:
        """Enable or disable a loaded rule or correlation by id; returns False if no such rule."""
        for r in self._ruleset.rules:
            if r.id == rule_id:
                r.enabled = enabled
                self._build_index()
                return True
        spec = self._ruleset.correlations.get(rule_id)
        if spec is not None:
            spec.enabled = enabled
            return True
        return False

    def reload_if_changed(self) -> bool:
        """Reload every rule when a rule file was added, removed or modified (mtime); True if reloaded."""
        current: dict[str, float] = {}
        for f in rule_files(self.paths):
            try:
                current[str(f)] = f.stat().st_mtime
            except OSError:
                continue
        if current == self._ruleset.files:
            return False
        disabled = {r.id for r in self._ruleset.rules if not r.enabled}
        disabled |= {c.id for c in self._ruleset.correlations.values() if not c.enabled}
        self._load()
        for r in self._ruleset.rules:
            if r.id in disabled:
                r.enabled = False
        for c in self._ruleset.correlations.values():
            if c.id in disabled:
                c.enabled = False
        if disabled:
            self._build_index()
        return True

    def set_suppressions(self, items: list[dict[str, Any]]) -> None:
        """Replace the suppressions; raises ``ValueError`` naming every bad entry (old ones stay then)."""
        sups, errors = compile_suppressions(items)
        if errors:
            raise ValueError("; ".join(errors))
        self.suppressions = sups

    # -- events

    def candidates(self, event: dict[str, Any]) -> list[int]:
        """Indices of rules that may match ``event`` (logsource, then required literals)."""
        # the bucket: the per-signature cache inlined (``_event_bucket`` on a miss)
        if self.ignore_logsource:
            b = self._all_bucket
        else:
            try:
                b = self._sig_cache[logsources.event_signature(event)]
            except KeyError:
                b = self._event_bucket(event)
        if b is None:
            return []
        if not b.triggers:
            return list(b.always)
        if b.native:  # the whole prefilter in one native call; None: a text needs the Python path
            found = C_SCAN(event, b.node, b.fac, b.kac, b.live, b.triggers, b.always)  # type: ignore[misc]
            if found is not None:
                return found
        return self._candidates_py(event, b)

    def _candidates_py(self, event: dict[str, Any], b: _Bucket) -> list[int]:
        """The prefilter step by step: texts (native writer when it can, else Python), ``ahocorasick_rs``, select."""
        if not b.finders:
            _build_finders(b)
        fmatch: Matches = []
        tmatch: Matches = []
        finder = b.fields
        if finder is not None:
            # native text when it can (None: it declines), else the Python twin (None: no JSON form)
            hay = C_FIELD_TEXT(event, b.node) if C_FIELD_TEXT is not None else None
            if hay is None:
                hay = field_text_py(event, b.extract)
                if hay is None:
                    return list(b.rules)  # no JSON form: evaluate every rule of the logsource
            if hay:
                fmatch = finder.search(hay, True)  # = finder.matches(hay), inlined
        finder = b.text
        if finder is not None:
            hay = C_KEYWORD_TEXT(event) if C_KEYWORD_TEXT is not None else None
            if hay is None:
                hay = keyword_text_py(event)
                if hay is None:
                    return list(b.rules)
            if hay and (finder.gate is None or finder.gate(hay)):
                tmatch = finder.search(hay, True)  # = finder.matches(hay), inlined
        if not fmatch and not tmatch:
            return list(b.always)
        if C_SELECT is not None:
            return C_SELECT(fmatch, tmatch, b.n_fields, b.live, b.triggers, b.always)
        return select_py(fmatch, tmatch, b.n_fields, b.live, b.triggers, b.always)

    def _event_bucket(self, event: dict[str, Any]) -> _Bucket | None:
        if self.ignore_logsource:
            return self._all_bucket
        sig = logsources.event_signature(event)
        try:
            return self._sig_cache[sig]
        except KeyError:
            pass
        dims = logsources.signature_dimensions(sig)
        if dims in self._dims_cache:
            b = self._dims_cache[dims]
        else:
            b = self._make_bucket([i for k in logsources.keys_of(*dims) for i in self._by_key.get(k, ())])
            if len(self._dims_cache) < 1024:
                self._dims_cache[dims] = b
        if len(self._sig_cache) < 4096:
            self._sig_cache[sig] = b
        return b

    def _all_for(self, event: dict[str, Any]) -> list[int]:
        b = self._event_bucket(event)
        return list(b.rules) if b is not None else []

    def matching_rules(self, event: dict[str, Any], *, naive: bool = False) -> list[CompiledRule]:
        """Rules whose detection (and filters) match ``event``, without alerts or correlation."""
        invalidate_view()
        idxs = self._all_for(event) if naive else self.candidates(event)
        rules = self._ruleset.rules
        out = []
        for i in idxs:
            r = rules[i]
            try:
                if r.match(event) and all(f(event) for f in r.filters):
                    out.append(r)
            except Exception as exc:  # see process()
                self._eval_error(r, exc)
        return out

    def _eval_error(self, rule: CompiledRule, exc: Exception) -> None:
        self.stats["errors"] = self.stats.get("errors", 0) + 1
        if self.stats["errors"] <= 20:
            log.warning("rule %s (%s) failed on an event: %s: %s", rule.id, rule.path, type(exc).__name__, exc)

    def process(self, event: dict[str, Any], *, naive: bool = False) -> list[dict[str, Any]]:
        """Alerts raised by ``event``: Sigma matches and any correlation that completes."""
        self.stats["events"] += 1
        invalidate_view()
        idxs = self._all_for(event) if naive else self.candidates(event)
        self.stats["candidates"] += len(idxs)
        alerts: list[dict[str, Any]] = []
        rules = self._ruleset.rules
        ts: float | None = None
        for i in idxs:
            r = rules[i]
            try:
                if not r.match(event):
                    continue
                if r.filters and not all(f(event) for f in r.filters):
                    self.stats["filtered"] += 1
                    continue
            except Exception as exc:  # a value no matcher foresaw must not stop the pipeline
                self._eval_error(r, exc)
                continue
            self.stats["matches"] += 1
            if r.standalone:
                alert = make_alert(kind="sigma", rule=r.alert_rule(), events=[event],
                                   match=self.explain(r, event, matched=True))
                if self.suppressions:
                    self._emit(alert, alerts)
                else:  # what _emit does without suppressions
                    self.stats["alerts"] += 1
                    alerts.append(alert)
            if r.correlations:
                if ts is None:
                    ts = _event_ts(event)
                getter = _rule_getter(r, event)
                for cid, pos in r.correlations:
                    spec = self.corr.specs.get(cid)
                    if spec is not None:
                        self._feed(spec, pos, ts, event, getter, f"r:{r.idx}", alerts)
        self._since_close += 1
        if self._since_close >= 1024 and self.corr.groups:
            self._since_close = 0
            self._closed(self.corr.close(), alerts)
        return alerts

    def _feed(self, spec: CorrelationSpec, pos: int, ts: float, event: dict[str, Any], getter: Any,
              src: str, alerts: list[dict[str, Any]]) -> None:
        self._closed(self.corr.feed(spec, pos, ts, event, getter, src), alerts)

    def _closed(self, fired: list[tuple[CorrelationSpec, dict[str, Any], float, Any]],
                alerts: list[dict[str, Any]]) -> None:
        for spec, alert, ts, getter in fired:
            if spec.standalone:
                self._emit(alert, alerts)
            for down, pos in self._chains.get(spec.id, ()):
                last = alert["events"][-1] if alert["events"] else {}
                self._feed(down, pos, ts, last, getter, spec.key, alerts)

    def _emit(self, alert: dict[str, Any], alerts: list[dict[str, Any]]) -> None:
        if self.suppressions:
            ev = alert["events"][-1] if alert["events"] else {}
            s = first_match(self.suppressions, alert["rule"], ev)
            if s is not None:
                self.stats["suppressed"] += 1
                return
        self.stats["alerts"] += 1
        alerts.append(alert)

    def flush(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Close correlation windows that ended before ``now`` minus the allowed lateness."""
        until = None
        if now is not None:
            until = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp() - self.corr.lateness
        alerts: list[dict[str, Any]] = []
        self._closed(self.corr.close(until), alerts)
        return alerts

    def save_state(self) -> None:
        if self.state_path is not None:
            self.corr.save(self.state_path)

    # -- explanation

    def explain(self, rule: CompiledRule, event: dict[str, Any], *, matched: bool = False) -> dict[str, Any]:
        """Which selections matched and the event values of the fields they test.

        ``matched``: the caller knows the rule's condition is true for ``event``; detections whose result
        that implies (``sel`` and ``filter`` of ``sel and not filter``) are then not evaluated again.
        """
        plan = rule.explain_plan
        if plan is None:
            plan = rule.explain_plan = _explain_plan(rule)
        selections = []
        values: dict[str, Any] = {}
        for name, m, implied, fields in plan:
            ok = implied if matched else None
            if ok is None:
                try:
                    ok = m(event)
                except Exception:  # explanation must never break alerting
                    ok = False
            if not ok:
                continue
            selections.append(name)
            for f, acc in fields:
                if f is None:
                    values.setdefault("keywords", True)
                    continue
                v = (acc or rule.compiler.accessor(f))(event)
                if v is not MISSING:
                    values[f] = v
        return {"selections": selections, "fields": values, "rule_path": rule.path,
                "logsource": rule.logsource}


def _explain_plan(rule: CompiledRule) -> tuple[tuple[str, Any, bool | None, tuple[tuple[str | None, Any], ...]], ...]:
    """``rule``'s detections as ``explain`` walks them, with the accessors their matchers already use.

    A field the compiler has no accessor for yet keeps ``None`` and is resolved when it is read (as before),
    so building the plan never adds paths to what the rule reads.
    """
    known = rule.compiler._accessors
    return tuple((name, m, rule.implied.get(name),
                  tuple((f, known.get(f) if f is not None else None) for f in rule.det_fields.get(name, [])))
                 for name, (m, _) in rule.detections.items())


def _event_ts(event: dict[str, Any]) -> float:
    dt = parse_ts(event.get("@timestamp"))
    return dt.timestamp() if dt is not None else time.time()


def _rule_getter(rule: CompiledRule, event: dict[str, Any]) -> Any:
    def get(f: str) -> Any:
        v = rule.compiler.accessor(f)(event)
        return None if v is MISSING else v
    return get
