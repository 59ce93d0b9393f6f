"""What every detector consumes and emits.

A detector takes ECS events (plain dicts, already enriched with the asset) one
at a time and returns alerts, also plain dicts, so that Sigma, indicator and
anomaly alerts share one flow into incidents.

Alert shape (also ``soc detect``'s output, one JSON object per line)::

    {
      "id": "<uuid>",
      "@timestamp": "<event time of the (last) matching event>",
      "kind": "sigma" | "correlation" | "indicator" | "anomaly" | "health",
      "rule": {"id", "name", "level", "tags": [...], "description", "author"},
      "events": [<the matching ECS event(s), as given>],
      "match": {...detector-specific explanation: selections and values, indicator, features...},
      "soc": {"agency": {...}, "system": {...}}      # copied from the event when known
      "entity": {"type": "host"|"user"|"ip", "value": "..."}   # what the alert is about
    }

Levels follow Sigma: informational, low, medium, high, critical.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from soc import ecs

LEVELS = ("informational", "low", "medium", "high", "critical")


class Detector(Protocol):
    """A unit that turns events into alerts as they arrive."""

    name: str

    def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Alerts raised by this event (most events raise none)."""
        ...

    def flush(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Alerts whose windows closed by ``now`` (correlation); ``[]`` for stateless detectors."""
        ...


#: (entity type, dotted field, its two keys), in order of preference
_ENTITY_FIELDS = tuple((kind, field, *field.split(".")) for kind, field in (
    ("user", "user.name"), ("ip", "source.ip"), ("host", "host.name"), ("host", "host.hostname"),
    ("ip", "destination.ip")))


def entity_of(event: dict[str, Any]) -> dict[str, str] | None:
    """The entity an alert about ``event`` concerns: user, then source host/IP, then host.

    Each field is read as ``ecs.get`` reads it (a literal dotted key first, then nesting), inlined: every
    alert of every detector calls this.
    """
    if type(event) is not dict:
        for kind, field, _, _ in _ENTITY_FIELDS:
            v = ecs.get(event, field)
            if isinstance(v, str) and v:
                return {"type": kind, "value": v}
        return None
    for kind, field, head, leaf in _ENTITY_FIELDS:
        if field in event:
            v = event[field]
        else:
            cur = event.get(head)
            if not isinstance(cur, dict):
                continue
            v = cur.get(leaf)
        if isinstance(v, str) and v:
            return {"type": kind, "value": v}
    return None


def new_alert_id() -> str:
    """A random (version 4) UUID string: the same value ``str(uuid.uuid4())`` gives, a third of the cost.

    Streaming detection builds one per alert; ``uuid4`` constructs a ``UUID`` object only to format it.
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


#: hex digit -> the RFC 4122 variant digit (10xx) keeping its two low bits
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def make_alert(
    *,
    kind: str,
    rule: dict[str, Any],
    events: Iterable[dict[str, Any]],
    match: dict[str, Any] | None = None,
    entity: dict[str, str] | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """Build an alert dict in the shape above; copies the asset from the last event."""
    evs = list(events)
    last = evs[-1] if evs else {}
    ts = timestamp or last.get("@timestamp") or datetime.now(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    alert: dict[str, Any] = {
        "id": new_alert_id(),
        "@timestamp": ts,
        "kind": kind,
        "rule": rule,
        "events": evs,
        "match": match or {},
    }
    soc = last.get("soc")
    if isinstance(soc, dict):
        alert["soc"] = asset = {}
        for k, v in soc.items():  # a loop, not a comprehension: no function frame per alert (Python 3.11)
            if k in ("agency", "system"):
                asset[k] = v
    ent = entity or entity_of(last)
    if ent:
        alert["entity"] = ent
    return alert
