"""Load Sigma rules, correlation rules and filters from files, one file at a time.

A file that cannot be read, parsed or compiled is rejected alone, with its path,
the line when known and the reason; every other file still loads. Rules whose
logsource we cannot map onto our events are rejected with the reason
``unsupported logsource: ...`` (unless logsources are ignored).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.correlations import SigmaCorrelationRule, SigmaExtendedCorrelationCondition
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaDetection, SigmaRule

from . import logsources
from .codegen import deferred
from .compiler import (
    CompileError,
    Compiler,
    Matcher,
    Req,
    detection_fields,
    implied_results,
    union_reqs,
)
from .correlation import CorrelationSpec
from .logsources import LogsourceKey, UnsupportedLogsource
from .yamlsafe import RuleYamlError, load_documents

# The specification names UTF-16LE encoding both ``wide`` and ``utf16le``; pySigma only knows ``wide``.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)

RULE_SUFFIXES = (".yml", ".yaml")
LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass
class RuleError:
    file: str
    line: int | None
    reason: str

    def as_tuple(self) -> tuple[str, int | None, str]:
        return (self.file, self.line, self.reason)

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return f"{loc}: {self.reason}"


@dataclass
class CompiledRule:
    idx: int
    id: str
    name: str | None
    title: str
    level: str
    status: str
    tags: list[str]
    description: str
    author: str
    falsepositives: list[str]
    path: str
    line: int
    logsource: dict[str, str]
    key: LogsourceKey | None
    match: Matcher
    req: Req
    detections: dict[str, tuple[Matcher, Req]]
    det_fields: dict[str, list[str | None]]
    compiler: Compiler
    enabled: bool = True
    standalone: bool = True
    filters: list[Matcher] = field(default_factory=list)
    correlations: list[tuple[str, int]] = field(default_factory=list)  # (correlation id, ref position)
    #: detection name -> its result whenever the rule's condition is true (see ``compiler.implied_results``)
    implied: dict[str, bool] = field(default_factory=dict)
    #: the closure tree ``match`` is generated from on the rule's first evaluation (``codegen``): the reference
    reference: Matcher | None = None
    #: what ``SigmaEngine.explain`` walks, built on the rule's first alert: per detection (name, matcher, its
    #: implied result or None, ((field, accessor or None), ...)); accessors resolved once instead of per alert
    explain_plan: tuple[tuple[str, Matcher, bool | None, tuple[tuple[str | None, Any], ...]], ...] | None = None

    def alert_rule(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.title, "level": self.level, "tags": self.tags,
                "description": self.description, "author": self.author}

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "level": self.level, "status": self.status,
                "path": self.path, "logsource": self.logsource, "enabled": self.enabled,
                "tags": self.tags, "kind": "rule", "standalone": self.standalone}


@dataclass
class _Pending:
    kind: str  # "rule" | "correlation" | "filter"
    obj: Any
    path: str
    line: int


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    correlations: dict[str, CorrelationSpec] = field(default_factory=dict)
    errors: list[RuleError] = field(default_factory=list)
    files: dict[str, float] = field(default_factory=dict)  # path -> mtime
    filters: int = 0

    def summaries(self) -> list[dict[str, Any]]:
        out = [r.summary() for r in self.rules]
        for c in self.correlations.values():
            out.append({"id": c.id, "title": c.title, "level": c.level, "status": "", "path": c.path,
                        "logsource": {}, "enabled": c.enabled, "tags": c.tags, "kind": "correlation",
                        "type": c.type})
        return out


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files under ``paths`` (folders recursively), each once even if named twice."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        found = sorted(f for f in path.rglob("*") if f.suffix in RULE_SUFFIXES and f.is_file()) \
            if path.is_dir() else ([path] if path.exists() else [])
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def _ls(rule: SigmaRule | SigmaFilter) -> dict[str, str]:
    ls = rule.logsource
    return {k: v for k, v in (("product", ls.product), ("category", ls.category), ("service", ls.service)) if v}


def compile_detection_rule(rule: SigmaRule, *, ignore_logsource: bool, field_mapping: bool,
                           placeholders: dict[str, list[str]] | None) -> tuple[Compiler, LogsourceKey | None,
                                                                                  Matcher, Req,
                                                                                  dict[str, tuple[Matcher, Req]],
                                                                                  dict[str, bool]]:
    ls = rule.logsource
    try:
        key: LogsourceKey | None = logsources.rule_key(ls.product, ls.category, ls.service)
    except UnsupportedLogsource:
        if not ignore_logsource:
            raise
        key = None
    comp = Compiler(key, field_mapping=field_mapping, placeholders=placeholders)
    dets = {name: comp.detection(d) for name, d in rule.detection.detections.items()}
    conds = []
    trees = []
    for c in rule.detection.parsed_condition:
        try:
            tree = c.parse(postprocess=False)
        except SigmaError as exc:
            raise CompileError(f"condition {c.condition!r}: {exc}") from None
        conds.append(comp.condition(tree, dets))
        trees.append(tree)
    if not conds:
        raise CompileError("rule has no condition")
    if len(conds) == 1:
        m, req = conds[0]
    else:
        fns = tuple(f for f, _ in conds)
        reqs = [r for _, r in conds]
        m = comp.any(fns)
        req = union_reqs(reqs)
    # what a match implies about each detection (explanations skip re-evaluating those)
    implied = implied_results(trees[0], dets) if len(trees) == 1 else {}
    return comp, key, m, req, dets, implied


def load_rules(paths: Iterable[str | Path], *, ignore_logsource: bool = False, field_mapping: bool = True,
               placeholders: dict[str, list[str]] | None = None) -> RuleSet:
    """Load every rule file under ``paths``; bad files become entries in ``errors``."""
    rs = RuleSet()
    pending: list[_Pending] = []
    for f in rule_files(paths):
        sf = str(f)
        try:
            rs.files[sf] = f.stat().st_mtime
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            rs.errors.append(RuleError(sf, None, f"cannot read file: {exc}"))
            continue
        try:
            docs = load_documents(text)
        except RuleYamlError as exc:
            rs.errors.append(RuleError(sf, exc.line, exc.reason))
            continue
        if any(isinstance(d.data, dict) and "action" in d.data for d in docs):
            rs.errors.append(RuleError(sf, docs[0].line, "legacy multi-document rule ('action: global/repeat') "
                                                         "is not supported; split it into separate rules"))
            continue
        for d in docs:
            if not isinstance(d.data, dict):
                rs.errors.append(RuleError(sf, d.line, "document is not a mapping (expected a Sigma rule)"))
                continue
            try:
                if "correlation" in d.data:
                    pending.append(_Pending("correlation", SigmaCorrelationRule.from_dict(d.data), sf, d.line))
                elif "filter" in d.data:
                    pending.append(_Pending("filter", SigmaFilter.from_dict(d.data), sf, d.line))
                else:
                    pending.append(_Pending("rule", SigmaRule.from_dict(d.data), sf, d.line))
            except SigmaError as exc:
                rs.errors.append(RuleError(sf, _line(exc, d.line), f"invalid Sigma rule: {_msg(exc)}"))
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                rs.errors.append(RuleError(sf, d.line, f"invalid Sigma rule: {exc}"))
    _compile_all(rs, pending, ignore_logsource=ignore_logsource, field_mapping=field_mapping,
                 placeholders=placeholders)
    return rs


def _msg(exc: SigmaError) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _line(exc: SigmaError, default: int) -> int:
    src = getattr(exc, "source", None)
    line = getattr(src, "line", None) if src is not None else None
    return int(line) if isinstance(line, int) else default


def _compile_all(rs: RuleSet, pending: list[_Pending], *, ignore_logsource: bool, field_mapping: bool,
                 placeholders: dict[str, list[str]] | None) -> None:
    by_ref: dict[str, str] = {}  # id or name -> engine key ("r:<idx>" / "c:<id>")
    seen_ids: dict[str, str] = {}
    for p in pending:
        if p.kind != "rule":
            continue
        rule: SigmaRule = p.obj
        rid = str(rule.id) if rule.id else ""
        if rid and rid in seen_ids:
            rs.errors.append(RuleError(p.path, p.line, f"duplicate rule id {rid} (already loaded from {seen_ids[rid]})"))
            continue
        try:
            comp, key, m, req, dets, implied = compile_detection_rule(
                rule, ignore_logsource=ignore_logsource, field_mapping=field_mapping, placeholders=placeholders)
        except (UnsupportedLogsource, CompileError) as exc:
            rs.errors.append(RuleError(p.path, p.line, str(exc)))
            continue
        except SigmaError as exc:
            rs.errors.append(RuleError(p.path, _line(exc, p.line), f"invalid Sigma rule: {_msg(exc)}"))
            continue
        if not rid:
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{p.path}#{rule.title}"))
        seen_ids[rid] = p.path
        level = rule.level.name.lower() if rule.level else "medium"
        cr = CompiledRule(
            idx=len(rs.rules), id=rid, name=rule.name, title=rule.title or rid, level=level,
            status=rule.status.name.lower() if rule.status else "", tags=[str(t) for t in rule.tags],
            description=_str(rule.description), author=_str(rule.author),
            falsepositives=[str(x) for x in (rule.falsepositives or [])], path=p.path, line=p.line,
            logsource=_ls(rule), key=None if ignore_logsource else key, match=m, req=req,
            detections=dets, det_fields={n: detection_fields(d) for n, d in rule.detection.detections.items()},
            compiler=comp, implied=implied, reference=m)
        cr.match = deferred(cr, m, comp.ir)  # one generated function, built on the first evaluation
        rs.rules.append(cr)
        by_ref[rid] = f"r:{cr.idx}"
        if rule.name:
            by_ref[str(rule.name)] = f"r:{cr.idx}"
    # correlations may reference each other: resolve until no progress (rejects unknown refs and cycles)
    corr_pending = []
    for p in pending:
        if p.kind != "correlation":
            continue
        c: SigmaCorrelationRule = p.obj
        cid = str(c.id) if c.id else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{p.path}#{c.title}"))
        if cid in seen_ids:
            rs.errors.append(RuleError(p.path, p.line, f"duplicate rule id {cid} (already loaded from {seen_ids[cid]})"))
            continue
        seen_ids[cid] = p.path
        corr_pending.append(p)
        if c.name:
            by_ref.setdefault(str(c.name), f"c:{cid}")
        by_ref.setdefault(cid, f"c:{cid}")
    resolved: set[str] = set()
    progress = True
    remaining = list(corr_pending)
    while remaining and progress:
        progress = False
        for p in list(remaining):
            c = p.obj
            refs = [r.reference for r in (c.rules or [])]
            if not refs and isinstance(c.condition, SigmaExtendedCorrelationCondition):
                refs = c.condition.get_referenced_rules()
            unknown = [r for r in refs if r not in by_ref]
            if unknown:
                rs.errors.append(RuleError(p.path, p.line, "correlation refers to unknown rule(s): " + ", ".join(unknown)))
                remaining.remove(p)
                _forget(by_ref, p)
                progress = True
                continue
            keys = [by_ref[r] for r in refs]
            if any(k.startswith("c:") and k[2:] not in resolved for k in keys):
                continue  # wait for the referenced correlation
            spec = _spec(c, p, keys, refs, by_ref)
            rs.correlations[spec.id] = spec
            resolved.add(spec.id)
            remaining.remove(p)
            progress = True
    for p in remaining:
        rs.errors.append(RuleError(p.path, p.line, "correlation reference cycle or reference to a rejected correlation"))
    # which rules produce standalone alerts: not referenced by a correlation, or referenced with generate: true
    referenced: dict[str, bool] = {}
    for spec in rs.correlations.values():
        for pos, k in enumerate(spec.refs):
            referenced[k] = referenced.get(k, False) or spec.generate
            if k.startswith("r:"):
                rs.rules[int(k[2:])].correlations.append((spec.id, pos))
    for r in rs.rules:
        k = f"r:{r.idx}"
        if k in referenced:
            r.standalone = referenced[k]
    for spec in rs.correlations.values():
        spec.standalone = referenced.get(spec.key, True)
    for p in pending:
        if p.kind == "filter":
            _apply_filter(rs, p, by_ref, field_mapping=field_mapping, placeholders=placeholders)


def _forget(by_ref: dict[str, str], p: _Pending) -> None:
    c = p.obj
    cid = str(c.id) if c.id else None
    for k in [k for k, v in by_ref.items() if cid and v == f"c:{cid}"]:
        del by_ref[k]


def _spec(c: SigmaCorrelationRule, p: _Pending, keys: list[str], labels: list[str],
          by_ref: dict[str, str]) -> CorrelationSpec:
    cid = str(c.id) if c.id else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{p.path}#{c.title}"))
    cond = c.condition
    op = threshold = fieldref = percentile = None
    extended = None
    if isinstance(cond, SigmaExtendedCorrelationCondition):
        extended = cond.parsed
    elif cond is not None:
        op = cond.op.name.lower()
        threshold = float(cond.count)
        fieldref = cond.fieldref
        percentile = cond.percentile
    aliases: dict[str, dict[str, str]] = {}
    for alias in c.aliases:
        aliases[alias.alias] = {by_ref.get(ref.reference, ref.reference): f for ref, f in alias.mapping.items()}
    ctype = c.type.name.lower()
    if ctype in ("temporal", "temporal_ordered") and not isinstance(cond, SigmaExtendedCorrelationCondition):
        op = None
    return CorrelationSpec(
        id=cid, name=str(c.name) if c.name else None, title=c.title or cid,
        level=c.level.name.lower() if c.level else "medium", tags=[str(t) for t in c.tags],
        description=_str(c.description), author=_str(c.author), path=p.path, type=ctype, refs=keys,
        ref_labels=labels, group_by=list(c.group_by or []), aliases=aliases, timespan=float(c.timespan.seconds),
        op=op, threshold=threshold, field=fieldref, percentile=percentile, extended=extended,
        generate=bool(c.generate), key=f"c:{cid}")


def _apply_filter(rs: RuleSet, p: _Pending, by_ref: dict[str, str], *, field_mapping: bool,
                  placeholders: dict[str, list[str]] | None) -> None:
    flt: SigmaFilter = p.obj
    refs = flt.filter.rules
    targets: list[CompiledRule] = []
    if isinstance(refs, str):  # "any": every rule of the filter's logsource
        fls = _ls(flt)
        targets = [r for r in rs.rules if all(r.logsource.get(k) == v for k, v in fls.items())]
    else:
        for ref in refs:
            k = by_ref.get(ref.reference)
            if k is None or not k.startswith("r:"):
                rs.errors.append(RuleError(p.path, p.line, f"filter refers to unknown rule {ref.reference!r} (ignored for it)"))
                continue
            targets.append(rs.rules[int(k[2:])])
    for r in targets:
        comp = Compiler(r.key, field_mapping=field_mapping, placeholders=placeholders)
        try:
            dets = {n: comp.detection(d) for n, d in flt.filter.detections.items() if isinstance(d, SigmaDetection)}
            tree = flt.filter.parsed_condition[0].parse(postprocess=False)
            m, _ = comp.condition(tree, dets)
        except (CompileError, SigmaError) as exc:
            rs.errors.append(RuleError(p.path, p.line, f"filter cannot be compiled for rule {r.id}: {exc}"))
            return
        r.filters.append(m)
    if targets:
        rs.filters += 1
