"""Convert rules to queries for other engines with pySigma backends, using our field mapping.

The mapping tables of :mod:`detectors.sigma.logsources` become a pySigma
processing pipeline (field renames plus the logsource's event selector as an
added condition), so a converted query searches the same fields the streaming
engine reads. Used by ``soc rules convert`` and Elasticsearch hunts.
"""

from __future__ import annotations

from typing import Any

from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaRule

from . import logsources
from .logsources import LogsourceKey

TARGETS = ("elasticsearch", "lucene", "esql", "eql", "sqlite")

_CHANNEL_NAMES = {
    logsources.SYSMON: "Microsoft-Windows-Sysmon/Operational",
    logsources.PS_OP: "Microsoft-Windows-PowerShell/Operational",
    logsources.PS_CORE: "PowerShellCore/Operational",
    logsources.PS_CLASSIC: "Windows PowerShell",
    "security": "Security",
}


def _channel_name(lower: str) -> str:
    if lower in _CHANNEL_NAMES:
        return _CHANNEL_NAMES[lower]
    for v in logsources.windows_logsource_mapping.values():
        for ch in [v] if isinstance(v, str) else v:
            if ch.lower() == lower:
                return ch
    return lower


def selector_conditions(key: LogsourceKey) -> dict[str, Any]:
    """Field conditions (AND of fields, OR within lists) approximating the logsource's event selector."""
    product, category, service = key
    cond: dict[str, Any] = {}
    if product == "windows":
        chans: list[str] = []
        ids: list[int] = []
        if category:
            for ch, eids in logsources.WINDOWS_CATEGORIES[category]:
                chans.append(_channel_name(ch))
                ids.extend(sorted(eids))
        if service:
            chans = [_channel_name(c) for c in logsources.WINDOWS_SERVICES[service]]
        if chans:
            cond["winlog.channel"] = sorted(set(chans))
        if ids:
            cond["winlog.event_id"] = [str(i) for i in sorted(set(ids))]
    elif product == "linux":
        if service in ("sshd", "sudo", "cron"):
            cond["process.name"] = service
        elif service == "auditd":
            cond["event.module"] = "auditd"
    elif product in logsources.VENDOR_PRODUCT_NAMES:
        mods = [m for m, names in logsources.VENDOR_PRODUCTS.items() if product in names]
        cond["event.module"] = sorted(mods)
    if category == "proxy":
        cond["observer.type"] = "proxy"
    elif category == "webserver":
        cond["event.module"] = sorted(logsources.WEB_MODULES)
    elif category == "firewall":
        cond["observer.type"] = "firewall"
    return cond


def _fields(det: SigmaDetection) -> set[str]:
    out: set[str] = set()
    for it in det.detection_items:
        if isinstance(it, SigmaDetection):
            out |= _fields(it)
        elif it.field:
            out.add(it.field)
    return out


def pipeline_for(rule: SigmaRule) -> ProcessingPipeline:
    ls = rule.logsource
    key = logsources.rule_key(ls.product, ls.category, ls.service)
    fields: set[str] = set()
    for d in rule.detection.detections.values():
        fields |= _fields(d)
    mapping: dict[str | None, str | list[str]] = {}
    for f in sorted(fields):
        paths = [p for p in logsources.field_paths(key, f) if not p.startswith("~")]
        if paths and paths != [f]:
            # the first candidate is where our parsers put the field; a flat name is for raw JSON exports
            mapping[f] = paths[0] if len(paths) <= 2 else paths[:2]
    items = []
    if mapping:
        items.append(ProcessingItem(identifier="soc_field_mapping", transformation=FieldMappingTransformation(mapping)))
    cond = selector_conditions(key)
    if cond:
        items.append(ProcessingItem(identifier="soc_logsource", transformation=AddConditionTransformation(cond)))
    return ProcessingPipeline(name="soc ECS mapping", priority=20, items=items)


def convert(text: str, target: str) -> list[str]:
    """Queries for every detection rule in the YAML ``text`` for ``target`` (see :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    coll = SigmaCollection.from_yaml(text)
    out: list[str] = []
    for rule in coll.rules:
        if not isinstance(rule, SigmaRule):
            continue
        pipe = pipeline_for(rule)
        backend = _backend(target, pipe)
        out.extend(str(q) for q in backend.convert(SigmaCollection([rule])))
    return out


def _backend(target: str, pipe: ProcessingPipeline) -> Any:
    if target == "sqlite":
        from sigma.backends.sqlite import sqliteBackend
        return sqliteBackend(pipe)
    from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
    if target == "esql":
        return ESQLBackend(pipe)
    if target == "eql":
        return EqlBackend(pipe)
    return LuceneBackend(pipe)
