"""The contract every vendor parser follows.

A parser is a module in ``connectors/parsers/`` exposing:

``NAME: str``
    the format name used on the command line and in config (``fortigate``...);
``parse(line: str, ctx: ParseContext) -> dict | list[dict]``
    turns one raw record into one ECS document (or several, rarely), as a plain
    nested dict, and raises :class:`ParseError` with a human reason when the
    record is not of this format or is broken. It must never raise anything
    else on bad input (the fuzz tests check this);
``sniff(line: str) -> bool`` (optional)
    a cheap test used by ``auto`` detection; it must not be expensive.

Every document a parser returns carries ``event.original`` (the raw line),
``@timestamp`` (ISO 8601 with offset, in UTC when the zone is known),
``event.dataset`` and ``event.module``. Fields are ECS names; vendor fields
that ECS lacks go under the vendor's namespace as Elastic does
(``fortinet.firewall.*``, ``panw.panos.*``, ``cisco.asa.*``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")


class ParseError(ValueError):
    """Raised by a parser for a record it cannot turn into ECS; ``reason`` is shown to users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class ParseContext:
    """What a parser may know besides the line itself. Read-only for parsers: records of one network read
    share one context."""

    tz: tzinfo = VIETNAM_TZ
    """Zone for timestamps that carry none (per source; Vietnam is UTC+7)."""
    source: str = "cli"
    """Configured source name (``soc.input``)."""
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the line arrived; gives the year to RFC 3164 timestamps that lack one."""
    peer: str | None = None
    """Address of the sending host when a network transport knows it."""
    extra: dict[str, Any] = field(default_factory=dict)


class Parser(Protocol):
    NAME: str

    def parse(self, line: str, ctx: ParseContext) -> dict[str, Any] | list[dict[str, Any]]: ...
