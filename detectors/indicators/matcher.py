"""The indicator matcher: a Detector that checks every event against the loaded threat intelligence.

Per event it reads a fixed set of fields (addresses, domains, URL, file hashes) and does one dict or
bisect lookup for each, so its cost does not grow with the number of indicators. A hit on an indicator
that has expired (``valid_until`` passed) or is not valid yet is ignored. One alert per indicator and
event, naming the indicator, its feed and its TLP.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from detectors.base import make_alert
from detectors.indicators.index import Indicator, IndicatorIndex
from soc import ecs

IP_FIELDS = ("source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "related.ip")
DOMAIN_FIELDS = ("url.domain", "destination.domain", "dns.question.name", "tls.client.server_name",
                 "server.domain", "source.domain")
URL_FIELDS = ("url.full", "url.original")
HASH_FIELDS = ("file.hash.sha256", "file.hash.sha1", "file.hash.md5", "process.hash.sha256", "process.hash.sha1",
               "process.hash.md5", "dll.hash.sha256", "dll.hash.sha1", "dll.hash.md5")
KIND_LABEL = {"ipv4": "IP", "ipv6": "IP", "cidr": "network", "domain": "domain", "url": "URL", "md5": "MD5",
              "sha1": "SHA-1", "sha256": "SHA-256"}


_EMPTY: tuple[str, ...] = ()


def _values(event: dict[str, Any], field: str, parts: tuple[str, ...], dotted: bool) -> tuple[str, ...] | list[str]:
    """String values at ``field`` (nested dicts; a literal dotted key when the event has such keys).

    The hot path: a few dict lookups, no ``ecs.get`` (which splits the name on every call).
    """
    cur: Any = event.get(parts[0])
    for part in parts[1:]:
        if cur is None:
            break
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None and dotted:
        cur = event.get(field)
    if isinstance(cur, str):
        return (cur,) if cur else _EMPTY
    if isinstance(cur, list):
        return [x for x in cur if isinstance(x, str) and x]
    return _EMPTY


def _paths(fields: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((f, tuple(f.split("."))) for f in fields)


_IP = _paths(IP_FIELDS)
_DOMAIN = _paths(DOMAIN_FIELDS)
_URL = _paths(URL_FIELDS)
_HASH = _paths(HASH_FIELDS)


def url_host(url: str) -> str:
    """Lower-case host of an absolute URL, cheaply (no parsing beyond splitting)."""
    rest = url.split("://", 1)[-1]
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest.split("]", 1)[0].strip("[").lower()
    return rest.split(":", 1)[0].lower().rstrip(".")


class IndicatorMatcher:
    """Detector over an :class:`IndicatorIndex`; ``reload`` swaps in a fresh index built by ``loader``."""

    name = "indicators"

    def __init__(self, index: IndicatorIndex | None = None, *, loader: Callable[[], IndicatorIndex] | None = None,
                 reload_seconds: float = 60, default_level: str = "high",
                 clock: Callable[[], float] = time.time) -> None:
        self.index = index if index is not None else IndicatorIndex()
        self.loader = loader
        self.reload_seconds = reload_seconds
        self.default_level = default_level
        self.clock = clock
        self.stats = {"events": 0, "hits": 0, "expired_hits": 0}
        self._loaded_at = clock() if index is not None or loader is None else 0.0
        self._reload_lock = threading.Lock()
        self._reloading = False

    # -- index management ----------------------------------------------------------------------
    def reload(self) -> int:
        """Build a new index from the loader and swap it in; returns the number of indicators."""
        if self.loader is None:
            return len(self.index)
        ix = self.loader()
        self.index = ix  # atomic reference swap: events in flight keep using the old one
        self._loaded_at = self.clock()
        return len(ix)

    def _maybe_reload(self, now: float) -> None:
        if self.loader is None or now - self._loaded_at < self.reload_seconds or self._reloading:
            return
        with self._reload_lock:
            if self._reloading:
                return
            self._reloading = True
        self._loaded_at = now
        first = len(self.index) == 0 and not self.stats["events"]

        def run() -> None:
            try:
                self.reload()
            finally:
                self._reloading = False

        if first:
            run()  # nothing loaded yet: load in line once, so the first events are checked
        else:
            threading.Thread(target=run, name="soc-intel-reload", daemon=True).start()

    # -- Detector protocol ----------------------------------------------------------------------
    def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.clock()
        self._maybe_reload(now)
        ix = self.index
        self.stats["events"] += 1
        hits: dict[tuple[str, str], tuple[Indicator, str, str]] = {}
        dotted = any("." in k for k in event)
        if ix.ips or ix.starts:
            seen: set[str] = set()
            for f, parts in _IP:
                for v in _values(event, f, parts, dotted):
                    if v in seen:
                        continue
                    seen.add(v)
                    ind = ix.match_ip(v)
                    if ind is not None:
                        hits.setdefault((ind.kind, ind.value), (ind, f, v))
        if ix.domains:
            for f, parts in _DOMAIN:
                for v in _values(event, f, parts, dotted):
                    r = ix.match_domain(v)
                    if r is not None:
                        hits.setdefault((r[0].kind, r[0].value), (r[0], f, v))
        if ix.urls:
            for f, parts in _URL:
                for v in _values(event, f, parts, dotted):
                    if "://" not in v:
                        dom = ecs.get(event, "url.domain")
                        if not isinstance(dom, str) or not v.startswith("/"):
                            continue
                        scheme = ecs.get(event, "url.scheme") or "http"
                        v = f"{scheme}://{dom}{v}"
                    # Normalising a URL costs more than every other lookup together: only URLs whose
                    # host has a URL indicator get that far.
                    if url_host(v) not in ix.url_hosts:
                        continue
                    ind = ix.match_url(v)
                    if ind is not None:
                        hits.setdefault((ind.kind, ind.value), (ind, f, v))
        if ix.hashes:
            for f, parts in _HASH:
                for v in _values(event, f, parts, dotted):
                    ind = ix.match_hash(v)
                    if ind is not None:
                        hits.setdefault((ind.kind, ind.value), (ind, f, v))
        if not hits:
            return []
        alerts = []
        for ind, field, observed in hits.values():
            if (ind.valid_until is not None and ind.valid_until <= now) or (
                    ind.valid_from is not None and ind.valid_from > now):
                self.stats["expired_hits"] += 1
                continue
            self.stats["hits"] += 1
            alerts.append(self._alert(event, ind, field, observed))
        return alerts

    def flush(self, now: datetime | None = None) -> list[dict[str, Any]]:
        return []

    def _alert(self, event: dict[str, Any], ind: Indicator, field: str, observed: str) -> dict[str, Any]:
        label = KIND_LABEL.get(ind.kind, ind.kind)
        level = ind.level or self.default_level
        rule = {
            # One rule id per indicator, so that alerts on different indicators are not merged by dedup.
            "id": f"intel:{ind.feed[:36]}:{hashlib.sha1(f'{ind.kind}|{ind.value}'.encode(), usedforsecurity=False).hexdigest()[:16]}",
            "name": f"Threat-intelligence match: {label} {ind.value} ({ind.feed})"[:255],
            "level": level,
            "tags": ["intel", f"intel.feed.{ind.feed}", f"tlp.{ind.tlp}"],
            "description": (ind.name or f"{label} {ind.value} is listed by feed {ind.feed}")
                           + f" [TLP:{ind.tlp.upper()}]",
            "author": ind.feed,
        }
        match = {"indicator": {"kind": ind.kind, "value": ind.value, "feed": ind.feed, "tlp": ind.tlp,
                               "id": ind.ref, "name": ind.name, "confidence": ind.confidence,
                               "valid_until": ind.valid_until},
                 "field": field, "observed": observed}
        return make_alert(kind="indicator", rule=rule, events=[event], match=match)
