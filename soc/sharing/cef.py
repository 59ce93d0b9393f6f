"""Syslog/CEF forwarding of alerts and incidents, for receivers that do not take TAXII.

CEF (ArcSight Common Event Format, rev. 25): ``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext``.
Escaping per the format's rules: in header fields ``\\`` and ``|`` are escaped; in extension values
``\\`` and ``=`` are escaped and line breaks become ``\\n`` / ``\\r``; extension keys are fixed
names from the CEF dictionary (plus ``cs<n>`` / ``cs<n>Label`` pairs). Each line is wrapped in an
RFC 3164 syslog header and sent over UDP (one datagram per line) or TCP (newline-framed).
Internal addresses and user names pass the same data-minimisation rules as the STIX export.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from soc import ecs
from soc.config import Settings, SharingConfig
from soc.sharing.minimise import Minimiser, NetworkSet

VENDOR = "HaiPhongSOC"
PRODUCT = "SOC"
VERSION = "1"
SEVERITY = {"informational": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
FACILITY_LOCAL4 = 20
SYSLOG_SEV = {"informational": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}
MAX_UDP = 8192


def esc_header(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def esc_ext(value: object) -> str:
    return (str(value).replace("\\", "\\\\").replace("=", "\\=").replace("\r\n", "\\n")
            .replace("\n", "\\n").replace("\r", "\\r"))


def cef_line(signature: str, name: str, level: str, ext: Sequence[tuple[str, Any]]) -> str:
    head = "|".join(["CEF:0", esc_header(VENDOR), esc_header(PRODUCT), esc_header(VERSION), esc_header(signature),
                     esc_header(name), str(SEVERITY.get(level, 5))])
    parts = [f"{k}={esc_ext(v)}" for k, v in ext if v is not None and v != ""]
    return head + "|" + " ".join(parts)


def syslog_wrap(line: str, level: str, host: str = "soc", when: datetime | None = None) -> str:
    when = (when or datetime.now(UTC)).astimezone(UTC)
    pri = FACILITY_LOCAL4 * 8 + SYSLOG_SEV.get(level, 4)
    stamp = f"{when:%b} {when.day:>2} {when:%H:%M:%S}"  # RFC 3164: space-padded day
    return f"<{pri}>{stamp} {host} {line}"


def _ms(ts: Any) -> int | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _minimiser(cfg: SharingConfig) -> Minimiser:
    return Minimiser(NetworkSet.of(cfg.internal_networks), cfg.share_internal_addresses, cfg.share_user_names)


def alert_to_cef(alert: dict[str, Any], m: Minimiser) -> str:
    rule = alert.get("rule") or {}
    evs = alert.get("events") or [{}]
    ev = evs[-1] if evs else {}
    level = str(rule.get("level") or "medium")
    ext: list[tuple[str, Any]] = [("rt", _ms(alert.get("@timestamp"))), ("externalId", alert.get("id")),
                                  ("cat", alert.get("kind"))]
    for key, field in (("src", "source.ip"), ("dst", "destination.ip")):
        v = ecs.get(ev, field)
        if isinstance(v, str) and m.ip_ok(v):
            ext.append((key, v))
    for key, field in (("spt", "source.port"), ("dpt", "destination.port"), ("proto", "network.transport"),
                       ("request", "url.full"), ("requestMethod", "http.request.method"), ("act", "event.action"),
                       ("fileHash", "file.hash.sha256"), ("dhost", "destination.domain")):
        ext.append((key, ecs.get(ev, field)))
    user = ecs.get(ev, "user.name")
    if isinstance(user, str) and user and m.user_ok(user):
        ext.append(("suser", user))
    agency = ((alert.get("soc") or {}).get("agency") or {}).get("id")
    ext += [("cs1Label", "agency"), ("cs1", agency)] if agency else []
    system = (alert.get("soc") or {}).get("system") or {}
    if system.get("level") is not None:
        ext += [("cn1Label", "securityLevel"), ("cn1", system.get("level"))]
    ind = (alert.get("match") or {}).get("indicator")
    if isinstance(ind, dict):
        ext += [("cs2Label", "indicator"), ("cs2", f"{ind.get('kind')}:{ind.get('value')}"),
                ("cs3Label", "feed"), ("cs3", ind.get("feed")), ("cs4Label", "tlp"), ("cs4", ind.get("tlp"))]
    ext.append(("msg", rule.get("description") or rule.get("name")))
    return cef_line(str(rule.get("id") or alert.get("kind") or "alert"), str(rule.get("name") or "alert"), level,
                    ext)


def incident_lines(inc: Any, alerts: Sequence[dict[str, Any]], cfg: SharingConfig,
                   max_alerts: int = 50) -> list[str]:
    """One summary line for the incident, then one per alert (first ``max_alerts``)."""
    m = _minimiser(cfg)
    level = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}.get(
        str(inc.severity).lower(), "medium")
    ext: list[tuple[str, Any]] = [("rt", _ms(inc.t0.isoformat())), ("externalId", inc.ref), ("cat", inc.category),
                                  ("outcome", inc.status), ("cn1Label", "securityLevel"), ("cn1", inc.system_level),
                                  ("cs1Label", "agency"), ("cs1", inc.agency_id if cfg.share_agency_identity else None),
                                  ("cs2Label", "serious"), ("cs2", "yes" if inc.serious else "no"),
                                  ("cnt", len(alerts)), ("msg", inc.title)]
    lines = [syslog_wrap(cef_line(f"incident:{inc.category}", f"Incident {inc.ref}: {inc.title}", level, ext), level)]
    for a in list(alerts)[:max_alerts]:
        lvl = str((a.get("rule") or {}).get("level") or "medium")
        lines.append(syslog_wrap(alert_to_cef(a, m), lvl))
    return lines


class CefSender:
    """Sends syslog lines to one receiver over UDP or TCP (a fresh TCP connection per batch)."""

    def __init__(self, host: str, port: int, protocol: str = "udp", timeout: float = 10.0) -> None:
        self.host, self.port, self.protocol, self.timeout = host, port, protocol, timeout

    def send(self, lines: Iterable[str]) -> int:
        data = [ln.encode("utf-8") for ln in lines]
        if self.protocol == "tcp":
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(b"".join(d.replace(b"\n", b" ") + b"\n" for d in data))
        else:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
            family, _, _, _, addr = infos[0]
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                for d in data:
                    sock.sendto(d[:MAX_UDP], addr)
        return len(data)


def forward_alerts(alerts: Iterable[dict[str, Any]], settings: Settings, destination: str) -> int:
    """Send alerts as CEF to a ``syslog_cef`` destination (for a live forwarding hook)."""
    from soc.sharing.destinations import get_destination

    d = get_destination(settings.sharing, destination)
    m = _minimiser(settings.sharing)
    lines = [syslog_wrap(alert_to_cef(a, m), str((a.get("rule") or {}).get("level") or "medium")) for a in alerts]
    return CefSender(d.host or "127.0.0.1", d.port, d.protocol).send(lines)


def cef_channel(payload: dict[str, Any], key: str, settings: Settings) -> dict[str, Any]:
    """Outbox channel ``syslog_cef``: send the stored lines to the payload's destination."""
    from soc.incidents.delivery import PermanentDeliveryError
    from soc.sharing.destinations import DestinationError, get_destination

    try:
        d = get_destination(settings.sharing, str(payload.get("destination")))
    except DestinationError as exc:
        raise PermanentDeliveryError(str(exc)) from None
    n = CefSender(d.host or "127.0.0.1", d.port, d.protocol).send(payload.get("lines") or [])
    return {"lines": n, "host": d.host, "port": d.port, "protocol": d.protocol}
