"""The rule editor's API: list, validate as you type, test on samples, backtest, hunt, save with history.

Rules are files (``rules/`` and the configured folders); saving writes the rule's
file and a :class:`~soc.web.models.RuleVersion` row with author and comment, then
the running engine reloads. Enable/disable is kept in the state database so that
it survives reloads and restarts. YAML is only ever read with the safe loader
inside the Sigma loader, and regular expressions run on RE2.
"""

from __future__ import annotations

import difflib
import re
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from connectors.parsers import FORMATS, ParseContext, ParseError, parse_line
from soc.api.deps import get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext
from soc.rule_state import apply_disabled, set_disabled
from soc.web.models import RuleVersion

router = APIRouter(tags=["rules"])

READ = ("admin", "rule_author", "analyst", "auditor")
WRITE = ("admin", "rule_author")
MAX_YAML = 256 * 1024
def engine_of(ctx: AppContext) -> Any:
    """The running Sigma engine, or one loaded from the configured folders for an API-only process."""
    if ctx.sigma is None:
        from detectors.sigma import SigmaEngine

        ctx.sigma = SigmaEngine.from_paths([d for d in ctx.settings.detection.rules_dirs if Path(d).exists()])
        apply_disabled(ctx.state, ctx.sigma)
    else:
        ctx.sigma.reload_if_changed()  # the engine keeps enable/disable across reloads
    return ctx.sigma


class YamlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(max_length=MAX_YAML)


def _temp_engine(text: str, *, ignore_logsource: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """Load one rule text into a throw-away engine; returns it and the problems found."""
    from detectors.sigma import SigmaEngine

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "rule.yml"
        p.write_text(text, encoding="utf-8")
        eng = SigmaEngine.from_paths([p], ignore_logsource=ignore_logsource)
    errors = [{"line": line, "reason": reason} for _, line, reason in eng.errors]
    return eng, errors


def _loaded(eng: Any) -> list[dict[str, Any]]:
    return [r for r in eng.rules]


@router.get("/rules")
def list_rules(p: Principal = Depends(require_role(*READ)), ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    eng = engine_of(ctx)
    return {"rules": eng.rules,
            "errors": [{"file": f, "line": line, "reason": r} for f, line, r in eng.errors]}


def _find(ctx: AppContext, rule_id: str) -> dict[str, Any]:
    for r in engine_of(ctx).rules:
        if r["id"] == rule_id:
            return r
    raise HTTPException(404, f"rule {rule_id} not found")


@router.get("/rules/{rule_id}")
def get_rule(rule_id: str, p: Principal = Depends(require_role(*READ)),
             ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    r = _find(ctx, rule_id)
    text = _rule_text(Path(r["path"]), rule_id)
    with ctx.state.session() as s:
        versions = [{"version": v.version, "author": v.author, "ts": v.ts.isoformat(), "comment": v.comment}
                    for v in s.execute(select(RuleVersion).where(RuleVersion.rule_id == rule_id)
                                       .order_by(RuleVersion.version.desc())).scalars()]
    return {**r, "yaml": text, "versions": versions}


def _rule_text(path: Path, rule_id: str) -> str:
    """The YAML document of ``rule_id`` in ``path`` (files may hold several documents)."""
    text = path.read_text(encoding="utf-8")
    docs = re.split(r"(?m)^---\s*$", text)
    if len(docs) > 1:
        for d in docs:
            if rule_id in d:
                return d.strip() + "\n"
    return text


@router.get("/rules/{rule_id}/diff")
def rule_diff(rule_id: str, version: int, p: Principal = Depends(require_role(*READ)),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    with ctx.state.session() as s:
        rows = {v.version: v for v in s.execute(select(RuleVersion).where(
            RuleVersion.rule_id == rule_id, RuleVersion.version.in_([version - 1, version]))).scalars()}
    if version not in rows:
        raise HTTPException(404, f"rule {rule_id} has no version {version}")
    before = rows[version - 1].yaml if version - 1 in rows else ""
    diff = difflib.unified_diff(before.splitlines(keepends=True), rows[version].yaml.splitlines(keepends=True),
                                fromfile=f"v{version - 1}", tofile=f"v{version}")
    return {"rule_id": rule_id, "version": version, "diff": "".join(diff)}


@router.post("/rules/validate")
def validate(body: YamlIn, p: Principal = Depends(require_role(*READ))) -> dict[str, Any]:
    if not body.yaml.strip():
        return {"ok": False, "errors": [{"line": None, "reason": "empty rule"}], "rule": None}
    eng, errors = _temp_engine(body.yaml)
    rules = _loaded(eng)
    if not rules and not errors:
        errors = [{"line": None, "reason": "no rule found in the text"}]
    return {"ok": not errors, "errors": errors, "rule": rules[0] if rules else None}


class TestIn(YamlIn):
    sample: str = Field(max_length=5_000_000)
    format: str = "auto"


@router.post("/rules/test")
def test_rule(body: TestIn, p: Principal = Depends(require_role(*READ)),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Which sample lines match, and which selection and values made each match."""
    if body.format != "auto" and body.format not in FORMATS:
        raise HTTPException(422, f"unknown format {body.format!r}")
    eng, errors = _temp_engine(body.yaml, ignore_logsource=body.format == "json")
    if errors or not eng.compiled_rules:
        raise HTTPException(422, "rule is not valid: " + "; ".join(e["reason"] for e in errors or
                                                                   [{"reason": "no rule found"}]))
    pctx = ParseContext(tz=ctx.settings.tzinfo())
    matches, parse_errors, n = [], [], 0
    for i, line in enumerate(body.sample.splitlines()[:20_000], 1):
        if not line.strip():
            continue
        try:
            docs = parse_line(body.format, line, pctx)
        except ParseError as exc:
            parse_errors.append({"line": i, "reason": exc.reason})
            continue
        for doc in docs:
            ctx.inventory.enrich(doc)
            n += 1
            for rule in eng.matching_rules(doc):
                ex = eng.explain(rule, doc)
                matches.append({"line": i, "rule": rule.id, "selections": ex["selections"],
                                "fields": {k: v for k, v in ex["fields"].items()}, "event": doc})
    return {"events": n, "matches": matches, "parse_errors": parse_errors}


class BacktestIn(YamlIn):
    days: int = Field(7, ge=1, le=90)


def _run_over_store(ctx: AppContext, text: str, start: datetime, end: datetime,
                    limit_events: int = 2_000_000) -> tuple[list[dict[str, Any]], int]:
    eng, errors = _temp_engine(text)
    if errors or not eng.compiled_rules and not eng.rules:
        raise HTTPException(422, "rule is not valid: " + "; ".join(e["reason"] for e in errors or
                                                                   [{"reason": "no rule found"}]))
    alerts: list[dict[str, Any]] = []
    scanned = 0
    for ev in ctx.events.iter_events(start, end):
        scanned += 1
        alerts.extend(eng.process(ev))
        if scanned >= limit_events:
            break
    alerts.extend(eng.flush(end))
    return alerts, scanned


@router.post("/rules/backtest")
def backtest(body: BacktestIn, p: Principal = Depends(require_role(*READ)),
             ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Alerts per day the rule would have raised over the last ``days`` of stored events."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(days=body.days)
    alerts, scanned = _run_over_store(ctx, body.yaml, start, end)
    per_day = Counter(str(a.get("@timestamp", ""))[:10] for a in alerts)
    days = [(start + timedelta(days=i)).date().isoformat() for i in range(body.days + 1)]
    return {"total": len(alerts), "events_scanned": scanned,
            "per_day": [{"day": d, "alerts": per_day.get(d, 0)} for d in days]}


class HuntIn(YamlIn):
    start: datetime = Field(alias="from")
    end: datetime | None = Field(None, alias="to")


@router.post("/rules/hunt")
def hunt(body: HuntIn, p: Principal = Depends(require_role("admin", "rule_author", "analyst")),
         ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    end = body.end or datetime.now(UTC) + timedelta(minutes=1)
    if body.start >= end:
        raise HTTPException(422, "'from' must be before 'to'")
    alerts, scanned = _run_over_store(ctx, body.yaml, body.start, end)
    ctx.state.audit(p.name, "rules.hunt", None, start=body.start.isoformat(), alerts=len(alerts))
    return {"alerts": alerts[:1000], "total": len(alerts), "events_scanned": scanned}


class SaveIn(YamlIn):
    comment: str | None = Field(None, max_length=1000)


@router.put("/rules")
def save_rule(body: SaveIn, p: Principal = Depends(require_role(*WRITE)),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Validate, then write the rule (its own file, or a new one under ``<rules dir>/custom``) and a version row."""
    text = body.yaml if body.yaml.endswith("\n") else body.yaml + "\n"
    eng, errors = _temp_engine(text)
    rules = _loaded(eng)
    if errors or not rules:
        raise HTTPException(422, "rule is not valid: " + "; ".join(e["reason"] for e in errors or
                                                                   [{"reason": "no rule found"}]))
    if len(rules) != 1:
        raise HTTPException(422, "save one rule at a time")
    rule_id = str(rules[0]["id"])
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", rule_id) or rule_id.startswith("anon-"):
        rule_id = str(uuid.uuid4())
        text = f"id: {rule_id}\n" + re.sub(r"(?m)^id:.*\n", "", text)
    existing = next((r for r in engine_of(ctx).rules if r["id"] == rule_id), None)
    if existing is not None:
        path = Path(existing["path"])
        if re.split(r"(?m)^---\s*$", path.read_text(encoding="utf-8")).__len__() > 1:
            raise HTTPException(409, f"rule {rule_id} lives in a multi-document file ({path.name}); edit that file")
    else:
        path = Path(ctx.settings.detection.rules_dirs[0]) / "custom" / f"{rule_id}.yml"
    with ctx.state.session() as s:
        last = s.execute(select(func.max(RuleVersion.version)).where(RuleVersion.rule_id == rule_id)).scalar()
        if last is None and existing is not None:
            # Keep the file's content before the first edit as version 1.
            s.add(RuleVersion(rule_id=rule_id, version=1, yaml=path.read_text(encoding="utf-8"), path=str(path),
                              author="(file)", comment="as found on disk"))
            last = 1
        version = (last or 0) + 1
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        s.add(RuleVersion(rule_id=rule_id, version=version, yaml=text, path=str(path), author=p.name,
                          comment=body.comment))
        ctx.state.audit(p.name, "rule.save", f"rule:{rule_id}", session=s, version=version, path=str(path),
                        comment=body.comment)
    engine_of(ctx)  # reloads the changed file
    return {"id": rule_id, "version": version, "path": str(path)}


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


@router.post("/rules/{rule_id}/enabled")
def set_enabled(rule_id: str, body: EnabledIn, p: Principal = Depends(require_role(*WRITE)),
                ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    _find(ctx, rule_id)
    with ctx.state.session() as s:
        set_disabled(s, rule_id, body.enabled)
        ctx.state.audit(p.name, "rule.enable" if body.enabled else "rule.disable", f"rule:{rule_id}", session=s)
    engine_of(ctx).set_enabled(rule_id, body.enabled)
    return {"id": rule_id, "enabled": body.enabled}
