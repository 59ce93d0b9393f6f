"""Minimal EVTX-JSON (SigmaHQ regression data shape) -> Winlogbeat-shaped event adapter for tests.

The project's ``winlog`` parser is written separately; when it exists the tests use
it (see :func:`to_winlog`), otherwise this adapter gives the same shape:
``winlog.channel/event_id/provider_name/computer_name/record_id``,
``winlog.event_data.<Name>``, ``winlog.user_data.<Name>`` and ``@timestamp``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_concatenated_json(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    dec = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
    return out


def _attr(d: Any, name: str) -> Any:
    if isinstance(d, dict):
        a = d.get("#attributes")
        if isinstance(a, dict):
            return a.get(name)
    return None


def _plain(v: Any) -> Any:
    if isinstance(v, dict) and "#text" in v:
        return v["#text"]
    return v


def adapt(raw: dict[str, Any]) -> dict[str, Any]:
    ev = raw.get("Event", raw)
    system = ev.get("System", {})
    winlog: dict[str, Any] = {
        "channel": system.get("Channel"),
        "event_id": str(_plain(system.get("EventID"))),
        "provider_name": _attr(system.get("Provider"), "Name"),
        "computer_name": system.get("Computer"),
        "record_id": system.get("EventRecordID"),
    }
    data = ev.get("EventData")
    if isinstance(data, dict):
        winlog["event_data"] = {k: _plain(v) for k, v in data.items() if k != "#attributes"}
    user = ev.get("UserData")
    if isinstance(user, dict):
        inner: dict[str, Any] = {}
        for v in user.values():
            if isinstance(v, dict):
                inner.update({k: _plain(x) for k, x in v.items() if k != "#attributes"})
        winlog["user_data"] = inner
    doc: dict[str, Any] = {"winlog": {k: v for k, v in winlog.items() if v is not None}}
    ts = _attr(system.get("TimeCreated"), "SystemTime")
    if ts:
        doc["@timestamp"] = ts
    doc["event"] = {"code": winlog["event_id"], "module": "windows"}
    if winlog.get("computer_name"):
        doc["host"] = {"name": winlog["computer_name"]}
    return doc


def to_winlog(raw: dict[str, Any]) -> dict[str, Any]:
    """Use the project's winlog parser when present, else :func:`adapt`."""
    try:
        from connectors.parsers import winlog  # type: ignore[attr-defined]
    except ImportError:
        return adapt(raw)
    from connectors.parsers import ParseContext, ParseError
    try:
        out = winlog.parse(json.dumps(raw), ParseContext())
    except ParseError:
        return adapt(raw)
    return out[0] if isinstance(out, list) else out


def flat_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The flat field view Sigma rules are written against (EventData names + System names).

    Accepts the EVTX-JSON shape (``Event.System``/``Event.EventData``) and the Winlogbeat shape
    (``winlog.*``, what ``connectors.evtx_reader`` yields).
    """
    if isinstance(raw.get("winlog"), dict):
        w = raw["winlog"]
        flat: dict[str, Any] = {"EventID": w.get("event_id"), "Channel": w.get("channel"),
                                "Provider_Name": w.get("provider_name"), "Computer": w.get("computer_name")}
        for part in ("user_data", "event_data"):
            if isinstance(w.get(part), dict):
                flat.update({k: v for k, v in w[part].items() if not isinstance(v, (dict, list))})
        return {k: v for k, v in flat.items() if v is not None}
    ev = raw.get("Event", raw)
    system = ev.get("System", {})
    out: dict[str, Any] = {
        "EventID": _plain(system.get("EventID")), "Channel": system.get("Channel"),
        "Provider_Name": _attr(system.get("Provider"), "Name"), "Computer": system.get("Computer"),
    }
    data = ev.get("EventData")
    if isinstance(data, dict):
        out.update({k: _plain(v) for k, v in data.items() if k != "#attributes"})
    user = ev.get("UserData")
    if isinstance(user, dict):
        for v in user.values():
            if isinstance(v, dict):
                out.update({k: _plain(x) for k, x in v.items() if k != "#attributes"})
    return {k: v for k, v in out.items() if v is not None}
