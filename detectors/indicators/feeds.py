"""Threat-intelligence feeds in: TAXII 2.1 collections, STIX bundles, CSV lists and MISP JSON.

Each feed (``sharing.feeds`` entry, see :class:`FeedConfig`) is pulled into the indicator store. A feed
is used as far as it is good: a malformed object (broken JSON shape, a STIX pattern that does not parse,
an unsupported pattern, a bad value) is rejected with its id and the reason, and the rest is stored.
Indicators without an end of validity get ``valid_days`` from the pull, so that values a feed drops
expire by themselves.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from detectors.indicators import normalise as norm
from detectors.indicators.store import IndicatorInput, IndicatorStore
from soc.sharing import tlp as tlpmod

log = logging.getLogger("soc.intel")


class FeedError(Exception):
    """The feed as a whole cannot be read (unreachable, not JSON, not a bundle); the message says why."""


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    type: Literal["taxii", "csv", "misp", "stix"]
    url: str | None = None
    """HTTP(S) URL of the file, or the TAXII server / API root / collection URL."""
    path: str | None = None
    collection: str | None = None
    """TAXII collection id (when ``url`` is the API root)."""
    username: str | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    interval_minutes: int = Field(default=60, ge=1)
    tlp: str = "green"
    """TLP of indicators whose source carries no marking."""
    level: Literal["low", "medium", "high", "critical"] | None = None
    valid_days: int = Field(default=30, ge=1)
    enabled: bool = True
    timeout_seconds: float = 60

    @model_validator(mode="after")
    def _where(self) -> FeedConfig:
        if not (self.url or self.path):
            raise ValueError(f"feed {self.name!r} needs 'url' or 'path'")
        if self.type == "taxii" and not self.url:
            raise ValueError(f"TAXII feed {self.name!r} needs 'url'")
        tlpmod.normalise(self.tlp)
        return self

    def collection_url(self) -> str:
        u = str(self.url)
        if "/collections/" in u:
            return u if u.endswith("/") else u + "/"
        if not self.collection:
            raise FeedError(f"feed {self.name!r}: give the collection id ('collection') or a collection URL")
        return u.rstrip("/") + f"/collections/{self.collection}/"


def feed_configs(raw: Iterable[dict[str, Any]]) -> list[FeedConfig]:
    out = []
    for i, r in enumerate(raw):
        try:
            out.append(FeedConfig.model_validate(r))
        except ValidationError as exc:
            name = r.get("name", f"#{i + 1}") if isinstance(r, dict) else f"#{i + 1}"
            probs = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in exc.errors())
            raise FeedError(f"sharing.feeds {name}: {probs}") from None
    return out


@dataclass
class ParseResult:
    items: list[IndicatorInput] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0
    """Objects that are fine but not indicators we match on (reports, identities, revoked, expired)."""

    def reject(self, oid: Any, reason: str) -> None:
        self.rejected.append({"id": str(oid)[:200], "reason": reason[:500]})


# -- STIX ---------------------------------------------------------------------------------------------
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")
_COMPLEX = re.compile(r"\b(AND|FOLLOWEDBY|REPEATS|WITHIN|START|STOP|NOT|MATCHES|LIKE)\b")
_PATH_KIND = {
    ("ipv4-addr", "value"): "ip", ("ipv6-addr", "value"): "ip", ("domain-name", "value"): "domain",
    ("url", "value"): "url", ("network-traffic", "dst_ref.value"): "ip", ("network-traffic", "src_ref.value"): "ip",
    ("file", "hashes.MD5"): "md5", ("file", "hashes.SHA-1"): "sha1", ("file", "hashes.SHA-256"): "sha256",
    ("file", "hashes.md5"): "md5", ("file", "hashes.sha1"): "sha1", ("file", "hashes.sha256"): "sha256",
    ("file", "hashes.SHA1"): "sha1", ("file", "hashes.SHA256"): "sha256",
}


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == "'" and v[-1] == "'":
        v = v[1:-1]
    return re.sub(r"\\(.)", r"\1", v)


def pattern_values(pattern: str) -> list[tuple[str, str]]:
    """``(kind, value)`` pairs of a STIX pattern made only of ``=``/``ISSUBSET`` comparisons joined by OR.

    Raises ``ValueError`` with the reason for a pattern that does not parse or that needs more than a
    lookup (AND, sequences, regexes): those cannot be matched one value at a time.
    """
    from stix2patterns.v21.pattern import Pattern

    try:
        insp = Pattern(pattern).inspect()
    except Exception as exc:
        raise ValueError(f"STIX pattern does not parse: {exc}") from None
    bare = _QUOTED.sub("''", pattern)
    m = _COMPLEX.search(bare)
    if m:
        raise ValueError(f"pattern uses {m.group(1)}: only OR-joined equality patterns can be matched per event")
    out: list[tuple[str, str]] = []
    for obj_type, comps in insp.comparisons.items():
        for path, op, value in comps:
            key = (obj_type, ".".join(str(p) for p in path))
            kind = _PATH_KIND.get(key)
            if kind is None:
                raise ValueError(f"unsupported pattern path {obj_type}:{'.'.join(str(p) for p in path)}")
            if op not in ("=", "ISSUBSET", "IN"):
                raise ValueError(f"unsupported comparison {op!r} in pattern")
            vals = [_unquote(x.strip()) for x in _QUOTED.findall(value)] if op == "IN" else [_unquote(value)]
            for v in vals:
                out.append(("cidr" if op == "ISSUBSET" else kind, v))
    if not out:
        raise ValueError("pattern has no comparison")
    return out


def _ts(v: Any) -> datetime | None:
    if not v:
        return None
    dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_stix_objects(objects: Iterable[Any], cfg: FeedConfig, now: datetime) -> ParseResult:
    import stix2

    res = ParseResult()
    default_until = now + timedelta(days=cfg.valid_days)
    default_tlp = tlpmod.normalise(cfg.tlp)
    for obj in objects:
        if not isinstance(obj, dict):
            res.reject("?", f"not a STIX object (a JSON {type(obj).__name__})")
            continue
        oid = obj.get("id", "?")
        if obj.get("type") != "indicator":
            res.skipped += 1
            continue
        try:
            stix2.parse(obj, allow_custom=True, version="2.1")
        except Exception as exc:
            res.reject(oid, f"invalid STIX indicator: {exc}".replace("\n", " "))
            continue
        if obj.get("revoked"):
            res.skipped += 1
            continue
        if obj.get("pattern_type", "stix") != "stix":
            res.reject(oid, f"pattern_type {obj.get('pattern_type')!r} is not supported (only 'stix')")
            continue
        try:
            values = pattern_values(str(obj.get("pattern", "")))
            valid_from = _ts(obj.get("valid_from"))
            valid_until = _ts(obj.get("valid_until"))
        except ValueError as exc:
            res.reject(oid, str(exc))
            continue
        if valid_until is not None and valid_until <= now:
            res.skipped += 1
            continue
        level = tlpmod.level_of_refs(obj.get("object_marking_refs")) or default_tlp
        conf = obj.get("confidence")
        for kind, value in values:
            res.items.append(IndicatorInput(kind=kind, value=value, tlp=level, stix_id=oid,
                                            name=obj.get("name") or obj.get("description"), level=cfg.level,
                                            confidence=conf if isinstance(conf, int) else None,
                                            valid_from=valid_from, valid_until=valid_until or default_until))
    return res


def parse_stix_document(text: str, cfg: FeedConfig, now: datetime) -> ParseResult:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"feed {cfg.name!r}: not JSON ({exc})") from None
    if isinstance(doc, dict) and isinstance(doc.get("objects"), list):
        return parse_stix_objects(doc["objects"], cfg, now)
    if isinstance(doc, list):
        return parse_stix_objects(doc, cfg, now)
    if isinstance(doc, dict) and doc.get("type") == "indicator":
        return parse_stix_objects([doc], cfg, now)
    raise FeedError(f"feed {cfg.name!r}: not a STIX bundle (no 'objects' list)")


# -- CSV -------------------------------------------------------------------------------------------------
_VALUE_COLS = ("value", "indicator", "ioc", "observable", "ip", "domain", "url", "hash")


def parse_csv(text: str, cfg: FeedConfig, now: datetime) -> ParseResult:
    """CSV with a header naming a value column (``value``/``indicator``/``ioc``...) and optionally
    ``type``, ``tlp``, ``valid_until``, ``name``, ``confidence``; or a bare list, one value per line."""
    res = ParseResult()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return res
    default_until = now + timedelta(days=cfg.valid_days)
    first = [c.strip().lower() for c in next(csv.reader([lines[0]]))]
    header = next((c for c in _VALUE_COLS if c in first), None)
    rows: Iterator[dict[str, str]]
    if header is not None:
        rows = csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=first)
        next(rows)
    else:
        rows = ({"value": r[0] if r else ""} for r in csv.reader(lines))
        header = "value"
    for n, row in enumerate(rows, start=1):
        raw = (row.get(header) or "").strip()
        if not raw:
            continue
        kind = (row.get("type") or "").strip()
        try:
            k, v = norm.normalise(kind, raw) if kind else norm.guess(raw)
            lvl = tlpmod.normalise(row["tlp"]) if row.get("tlp") else tlpmod.normalise(cfg.tlp)
            until = _ts(row.get("valid_until") or row.get("expires")) or default_until
            conf = int(row["confidence"]) if (row.get("confidence") or "").strip() else None
        except ValueError as exc:
            res.reject(f"row {n}", f"{raw[:100]}: {exc}")
            continue
        if until <= now:
            res.skipped += 1
            continue
        res.items.append(IndicatorInput(kind=k, value=v, tlp=lvl, name=(row.get("name") or row.get("description")
                                                                       or None), level=cfg.level,
                                        confidence=conf, valid_until=until))
    return res


# -- MISP -----------------------------------------------------------------------------------------------
_MISP_TYPES = {"ip-src": "ip", "ip-dst": "ip", "domain": "domain", "hostname": "domain", "url": "url", "uri": "url",
               "link": "url", "md5": "md5", "sha1": "sha1", "sha256": "sha256", "ip-src|port": "ip",
               "ip-dst|port": "ip", "domain|ip": "domain", "filename|md5": "md5", "filename|sha1": "sha1",
               "filename|sha256": "sha256"}


def _misp_tlp(tags: Any) -> str | None:
    for t in tags or []:
        name = str(t.get("name", "") if isinstance(t, dict) else t).lower()
        if name.startswith("tlp:"):
            try:
                return tlpmod.normalise(name)
            except ValueError:
                continue
    return None


def parse_misp(text: str, cfg: FeedConfig, now: datetime) -> ParseResult:
    """MISP event JSON (``{"Event": ...}``, ``{"response": [...]}`` or a list of events)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"feed {cfg.name!r}: not JSON ({exc})") from None
    if isinstance(doc, dict) and "response" in doc:
        doc = doc["response"]
    events = doc if isinstance(doc, list) else [doc]
    res = ParseResult()
    until = now + timedelta(days=cfg.valid_days)
    for ev in events:
        e = ev.get("Event", ev) if isinstance(ev, dict) else None
        if not isinstance(e, dict):
            res.reject("?", "not a MISP event object")
            continue
        ev_tlp = _misp_tlp(e.get("Tag")) or tlpmod.normalise(cfg.tlp)
        attrs = list(e.get("Attribute") or [])
        for o in e.get("Object") or []:
            if isinstance(o, dict):
                attrs += list(o.get("Attribute") or [])
        for a in attrs:
            if not isinstance(a, dict):
                res.reject(e.get("uuid", "?"), "attribute is not an object")
                continue
            aid = a.get("uuid") or a.get("id") or "?"
            t = str(a.get("type", ""))
            kind = _MISP_TYPES.get(t)
            if kind is None or a.get("to_ids") in (False, 0, "0") or a.get("deleted"):
                res.skipped += 1
                continue
            value = str(a.get("value", ""))
            if "|" in t:
                left, _, right = value.partition("|")
                value = left if t in ("ip-src|port", "ip-dst|port", "domain|ip") else right
            try:
                k, v = norm.normalise(kind, value)
            except ValueError as exc:
                res.reject(aid, str(exc))
                continue
            res.items.append(IndicatorInput(kind=k, value=v, tlp=_misp_tlp(a.get("Tag")) or ev_tlp, stix_id=None,
                                            name=(e.get("info") or None), level=cfg.level, valid_until=until))
    return res


# -- fetching and pulling ---------------------------------------------------------------------------
def _read(cfg: FeedConfig) -> str:
    if cfg.path:
        p = Path(cfg.path)
        if not p.exists():
            raise FeedError(f"feed {cfg.name!r}: file {p} not found")
        return p.read_text(encoding="utf-8", errors="replace")
    import httpx

    try:
        headers: dict[str, str] = {}
        auth = None
        if cfg.username:
            auth = (cfg.username, cfg.password.get_secret_value() if cfg.password else "")
        r = httpx.get(str(cfg.url), timeout=cfg.timeout_seconds, verify=cfg.verify_tls, auth=auth, headers=headers,
                      follow_redirects=True)
    except httpx.HTTPError as exc:
        raise FeedError(f"feed {cfg.name!r}: cannot fetch {cfg.url}: {type(exc).__name__}: {exc}") from None
    if r.status_code >= 300:
        raise FeedError(f"feed {cfg.name!r}: {cfg.url} answered HTTP {r.status_code}")
    return r.text


def _taxii_objects(cfg: FeedConfig, added_after: str | None) -> Iterator[Any]:
    import requests
    from taxii2client.v21 import as_pages

    from soc.sharing.taxii_client import collection

    try:
        coll = collection(cfg.collection_url(), user=cfg.username,
                          password=cfg.password.get_secret_value() if cfg.password else None,
                          verify=cfg.verify_tls, timeout=cfg.timeout_seconds)
        kw: dict[str, Any] = {"type": "indicator"}
        if added_after:
            kw["added_after"] = added_after
        for page in as_pages(coll.get_objects, per_request=500, **kw):
            yield from (page.get("objects") or []) if isinstance(page, dict) else []
    except (requests.RequestException, OSError) as exc:
        raise FeedError(f"feed {cfg.name!r}: TAXII collection unreachable: {type(exc).__name__}: {exc}") from None
    except FeedError:
        raise
    except Exception as exc:
        raise FeedError(f"feed {cfg.name!r}: TAXII exchange failed: {type(exc).__name__}: {exc}") from None


def parse_feed(cfg: FeedConfig, now: datetime, cursor: str | None = None) -> ParseResult:
    if cfg.type == "taxii":
        return parse_stix_objects(list(_taxii_objects(cfg, cursor)), cfg, now)
    text = _read(cfg)
    if cfg.type == "csv":
        return parse_csv(text, cfg, now)
    if cfg.type == "misp":
        return parse_misp(text, cfg, now)
    return parse_stix_document(text, cfg, now)


def pull_feed(store: IndicatorStore, cfg: FeedConfig, *, now: datetime | None = None,
              full: bool = False) -> dict[str, Any]:
    """Pull one feed into the store and record the outcome in ``intel_feeds``. Never raises for feed
    problems: the outcome (``status`` ok/partial/failed, counts, rejects) is returned and recorded."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        state = store.feed_state(s, cfg.name, cfg.type)
        cursor = None if full else state.cursor
    out: dict[str, Any] = {"feed": cfg.name, "type": cfg.type}
    try:
        res = parse_feed(cfg, now, cursor)
        new, updated, bad = store.upsert(cfg.name, res.items, now=now)
        rejected = res.rejected + [{"id": v[:200], "reason": r} for v, r in bad]
        status = "partial" if rejected else "ok"
        out.update(status=status, new=new, updated=updated, rejected=len(rejected), skipped=res.skipped,
                   rejects=rejected[:50])
        error = None
    except FeedError as exc:
        status, error = "failed", str(exc)
        out.update(status=status, error=error, new=0, updated=0, rejected=0, skipped=0, rejects=[])
    for r in out["rejects"]:
        log.warning("feed %s: rejected %s: %s", cfg.name, r["id"], r["reason"])
    with store.session() as s:
        state = store.feed_state(s, cfg.name, cfg.type)
        state.type = cfg.type
        state.last_pull_at = now
        state.last_status = status
        state.last_error = error
        if status != "failed":
            state.last_ok_at = now
            state.rejected = out["rejected"]
            # Next TAXII pull asks for objects added since a little before this one (server clocks differ;
            # repeats are harmless, the store upserts).
            state.cursor = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z") if cfg.type == "taxii" \
                else None
        state.indicators = store.counts().get(cfg.name, 0)
        state.detail = {k: out[k] for k in ("new", "updated", "rejected", "skipped", "rejects") if k in out}
        out["indicators"] = state.indicators
    return out
