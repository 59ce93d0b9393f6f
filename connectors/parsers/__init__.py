"""Vendor parsers: one module per format, each turning raw records into ECS.

Use :func:`get_parser` for a named format and :func:`detect` for ``auto``.
Modules are imported lazily so that a broken or slow-importing parser does
not cost the others anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .base import ParseContext, ParseError

__all__ = ["FORMATS", "ParseContext", "ParseError", "detect", "get_parser", "parse_line"]

#: Format name -> module under ``connectors.parsers``. Order matters for ``auto``:
#: the most specific sniffers come first, generic syslog last.
FORMATS: dict[str, str] = {
    "winlog": "winlog",
    "json": "json_ecs",
    "evtx": "winlog",  # .evtx records are rendered to the winlog JSON shape by the file source
    "fortigate": "fortigate",
    "panos": "panos",
    "cisco_asa": "cisco_asa",
    "pfsense": "pfsense",
    "iptables": "iptables",
    "auditd": "auditd",
    "squid": "squid",
    "nginx": "nginx",
    "apache": "apache",
    "auth": "auth",
    "syslog": "syslog",
}

_cache: dict[str, ModuleType] = {}


def _module(name: str) -> ModuleType:
    mod = _cache.get(name)
    if mod is None:
        if name not in FORMATS:
            known = ", ".join(sorted([*FORMATS, "auto"]))
            raise KeyError(f"unknown format {name!r}; known formats: {known}")
        mod = importlib.import_module(f"{__name__}.{FORMATS[name]}")
        _cache[name] = mod
    return mod


ParseFn = Callable[[str, ParseContext], "dict[str, Any] | list[dict[str, Any]]"]


def get_parser(name: str) -> ParseFn:
    """Return the ``parse`` function of format ``name`` (``auto`` gives the detecting parser)."""
    if name == "auto":
        return parse_auto
    return _module(name).parse  # type: ignore[no-any-return]


def detect(line: str) -> str | None:
    """Name the first format whose ``sniff`` accepts ``line``, or ``None``."""
    for name in FORMATS:
        if name == "evtx":
            continue
        try:
            mod = _module(name)
        except ImportError:
            continue
        sniff = getattr(mod, "sniff", None)
        if sniff is not None and sniff(line):
            return name
    return None


def parse_auto(line: str, ctx: ParseContext) -> dict[str, Any] | list[dict[str, Any]]:
    name = detect(line)
    if name is None:
        raise ParseError("format not recognised by any parser (auto-detection); set the source's format")
    return _module(name).parse(line, ctx)  # type: ignore[no-any-return]


def parse_line(name: str, line: str, ctx: ParseContext) -> list[dict[str, Any]]:
    """Parse one line with format ``name`` and always return a list of documents."""
    out = get_parser(name)(line, ctx)
    return out if isinstance(out, list) else [out]
