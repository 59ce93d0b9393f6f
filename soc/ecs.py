"""Helpers for ECS documents kept as plain nested dicts.

Events are ECS documents (https://www.elastic.co/guide/en/ecs/current/) held as
plain ``dict`` objects on the hot path: building a pydantic model per event
would cost more than parsing the line. These helpers read and write dotted
field names without copying.

The project's own additions live under the ``soc`` namespace (see
``docs/events.md``):

``soc.agency.id`` / ``soc.agency.name``
    the agency that owns the asset the event concerns;
``soc.system.id`` / ``soc.system.name`` / ``soc.system.level``
    the information system and its security level (1-5, Decree 85/2016);
``soc.input``
    the configured source the line arrived on;
``soc.asset.match``
    which field matched the inventory (``source.ip``, ``host.name``...).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

_MISSING = object()


def get(doc: dict[str, Any], path: str, default: Any = None) -> Any:
    """Return the value at dotted ``path``; also accepts literal dotted keys."""
    if path in doc:
        return doc[path]
    cur: Any = doc
    for part in path.split("."):
        if isinstance(cur, dict):
            nxt = cur.get(part, _MISSING)
            if nxt is _MISSING:
                return default
            cur = nxt
        else:
            return default
    return cur


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path``, creating intermediate objects.

    ``None`` and empty strings are not written: ECS documents omit unknown fields.
    """
    if value is None or value == "":
        return
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def append(doc: dict[str, Any], path: str, value: Any) -> None:
    """Append ``value`` to the list at ``path`` unless already present (for ``related.*``)."""
    if value is None or value == "":
        return
    cur = get(doc, path)
    if cur is None:
        put(doc, path, [value])
    elif isinstance(cur, list):
        if value not in cur:
            cur.append(value)
    elif cur != value:
        put(doc, path, [cur, value])


def flatten(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted.name, value)`` pairs for every leaf of ``doc``."""
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, name + ".")
        else:
            yield name, value


def flat(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(flatten(doc))


def unflatten(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        put(out, key, value)
    return out


def add_related(doc: dict[str, Any]) -> None:
    """Fill ``related.ip``, ``related.user`` and ``related.hosts`` from the usual fields."""
    for f in ("source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "observer.ip"):
        v = get(doc, f)
        if isinstance(v, list):
            for x in v:
                append(doc, "related.ip", x)
        else:
            append(doc, "related.ip", v)
    for f in ("user.name", "source.user.name", "destination.user.name", "user.target.name", "user.effective.name"):
        append(doc, "related.user", get(doc, f))
    for f in ("host.name", "host.hostname", "destination.domain", "source.domain", "url.domain"):
        append(doc, "related.hosts", get(doc, f))


_inet_pton, _AF_INET = socket.inet_pton, socket.AF_INET


def ipv4_int(text: str) -> int | None:
    """A canonical dotted-quad IPv4 address as an integer, or None (anything else: let ``ipaddress`` judge).

    On hot paths (enrichment, ``network.direction``) this is several times cheaper than ``ipaddress``:
    ``inet_pton`` takes exactly four decimal octets of at most 255 without leading zeros, the forms
    ``ipaddress`` accepts (``tests/core/test_inventory.py`` compares them)."""
    try:
        return int.from_bytes(_inet_pton(_AF_INET, text), "big")
    except (OSError, ValueError, UnicodeError, TypeError):  # not an address, NUL, lone surrogate, not text
        return None
