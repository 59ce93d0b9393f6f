"""Suppressions: analyst-owned exceptions that silence alerts, given to the engine as data.

Each suppression is a dict::

    {"id": "s-12", "rule_id": "<rule id, title or '*'>",
     "match": {"source.ip|cidr": "10.1.0.0/16", "user.name": ["svc_backup"]},   # Sigma selection syntax
     # or the shorthand "field": "source.ip", "value": "10.1.2.3"
     "owner": "analyst@haiphong.gov.vn", "reason": "vulnerability scanner", "expires": "2026-12-31T00:00:00Z"}

Field names are looked up in the stored event as written (dotted ECS names), so
what the analyst sees in an alert is what they write here. ``owner`` and
``reason`` are required: a suppression nobody answers for is how real attacks
get hidden. Expired suppressions stop applying on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection

from soc.storage.schema import parse_ts

from .compiler import CompileError, Compiler, Matcher


@dataclass
class Suppression:
    id: str
    rule_id: str
    match: Matcher
    owner: str
    reason: str
    expires: datetime | None
    spec: dict[str, Any]
    hits: int = 0

    def active(self, now: datetime) -> bool:
        return self.expires is None or now < self.expires

    def applies(self, rule: dict[str, Any]) -> bool:
        return self.rule_id == "*" or self.rule_id in (rule.get("id"), rule.get("name"))


def compile_suppressions(items: list[dict[str, Any]]) -> tuple[list[Suppression], list[str]]:
    """Compile suppressions; returns (valid ones, error messages naming the bad ones)."""
    out: list[Suppression] = []
    errors: list[str] = []
    comp = Compiler(None, field_mapping=False)
    for i, item in enumerate(items):
        label = str(item.get("id") or f"#{i}") if isinstance(item, dict) else f"#{i}"
        if not isinstance(item, dict):
            errors.append(f"suppression {label}: not an object")
            continue
        rule_id = item.get("rule_id")
        owner, reason = item.get("owner"), item.get("reason")
        if not rule_id or not isinstance(rule_id, str):
            errors.append(f"suppression {label}: 'rule_id' is required (a rule id, title or '*')")
            continue
        if not owner or not reason:
            errors.append(f"suppression {label}: 'owner' and 'reason' are required")
            continue
        cond = item.get("match")
        if cond is None and "field" in item:
            cond = {str(item["field"]): item.get("value")}
        if not isinstance(cond, dict) or not cond:
            errors.append(f"suppression {label}: 'match' (field conditions) or 'field'/'value' is required")
            continue
        expires = item.get("expires")
        exp_dt = parse_ts(expires) if expires not in (None, "") else None
        if expires not in (None, "") and exp_dt is None:
            errors.append(f"suppression {label}: 'expires' is not an ISO 8601 time: {expires!r}")
            continue
        try:
            m, _ = comp.detection(SigmaDetection.from_definition(cond))
        except (SigmaError, CompileError, ValueError, TypeError) as exc:
            errors.append(f"suppression {label}: bad condition: {exc}")
            continue
        out.append(Suppression(label, rule_id, m, str(owner), str(reason), exp_dt, dict(item)))
    return out, errors


def first_match(sups: list[Suppression], rule: dict[str, Any], event: dict[str, Any],
                now: datetime | None = None) -> Suppression | None:
    now = now or datetime.now(UTC)
    for s in sups:
        if s.active(now) and s.applies(rule) and s.match(event):
            s.hits += 1
            return s
    return None
