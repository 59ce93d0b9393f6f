"""The unit that travels from a source to the pipeline: one raw log record and where it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Record:
    source: str
    """Configured source name (``soc.input``)."""
    format: str
    """Parser name, or ``auto``."""
    line: str
    """The raw record, decoded as UTF-8 with ``surrogateescape`` so that invalid bytes survive a round trip."""
    received: float
    """Arrival time, seconds since the epoch (UTC)."""
    peer: str | None = None
    """Sending address for network sources."""
    tz: str | None = None
    """IANA zone for timestamps without one; ``None`` means the service default."""
    host: str | None = None
    """Name of the machine the log comes from when the format does not say (a file source's ``host_name``),
    as Filebeat adds ``host.name``; set on events that carry no ``host.name``."""

    def raw_bytes(self) -> bytes:
        return self.line.encode("utf-8", "surrogateescape")
