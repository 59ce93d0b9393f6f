"""Transports that bring raw records into the spool: syslog UDP/TCP/TLS, file tail, HTTP bulk, EVTX.

:func:`build_source` makes the right one for a :class:`~soc.config.SourceConfig`.
Every source writes to the :class:`~connectors.spool.Spool` and nowhere else; the
runner moves spooled records to the pipeline.
"""

from __future__ import annotations

from connectors.spool import Spool
from soc.config import SourceConfig

from .base import Source, SourceStats


def build_source(cfg: SourceConfig, spool: Spool) -> Source:
    """The transport for ``cfg.type``."""
    if cfg.type == "syslog_udp":
        from .syslog_udp import SyslogUdpSource

        return SyslogUdpSource(cfg, spool)
    if cfg.type in ("syslog_tcp", "syslog_tls"):
        from .syslog_stream import SyslogStreamSource

        return SyslogStreamSource(cfg, spool)
    if cfg.type == "http":
        from .http_bulk import HttpBulkSource

        return HttpBulkSource(cfg, spool)
    if cfg.type == "file":
        from .file_tail import FileTailSource

        return FileTailSource(cfg, spool)
    if cfg.type == "evtx":
        from .evtx_dir import EvtxSource

        return EvtxSource(cfg, spool)
    raise ValueError(f"unknown source type {cfg.type!r}")


__all__ = ["Source", "SourceStats", "build_source"]
