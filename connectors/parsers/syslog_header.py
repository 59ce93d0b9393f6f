"""Syslog headers (RFC 3164 and RFC 5424) and the variations real devices send.

Vendor parsers call :func:`split` first, then parse the message body. The
header is optional: lines read from files often have none, and some devices
(FortiGate, pfSense) send a PRI with no timestamp or host.

Handled: ``<PRI>`` or none; RFC 5424 ``<PRI>1 TS HOST APP PROCID MSGID [SD] MSG``;
RFC 3164 ``Mmm dd hh:mm:ss`` with or without year and fractions; ISO 8601
timestamps in place of the BSD one; a missing host name; ``TAG[PID]:`` and
``TAG:`` tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from soc import ecs

from .base import ParseContext

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.S,
)
_BSD_TS = re.compile(
    r"(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})(?:\s+(?P<year>\d{4}))?\s+"
    r"(?P<time>\d{1,2}:\d{2}:\d{2})(?P<frac>\.\d+)?(?:\s+(?P<year2>\d{4}))?(?:\s+(?P<tzname>UTC|GMT|ICT|[+-]\d{2}:?\d{2}))?:?\s+"
)
_ISO_TS = re.compile(
    r"(?P<iso>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+"
)
_HOST = re.compile(r"(?P<host>[A-Za-z0-9][A-Za-z0-9_.:\-]*)\s+")
_TAG = re.compile(r"(?P<tag>[^\s\[\]:]{1,64})(?:\[(?P<pid>[^\]]{0,32})\])?:\s?")
_SD_ELEMENT = re.compile(r"\[(?P<id>[^\s\]=]+)(?P<params>(?:\s+[^\s=\]]+=\"(?:[^\"\\]|\\.)*\")*)\s*\]")
_SD_PARAM = re.compile(r"([^\s=\]]+)=\"((?:[^\"\\]|\\.)*)\"")

FACILITIES = (
    "kernel", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


@dataclass(slots=True)
class Syslog:
    pri: int | None = None
    timestamp: datetime | None = None
    hostname: str | None = None
    appname: str | None = None
    procid: str | None = None
    msgid: str | None = None
    version: int | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)
    message: str = ""

    @property
    def facility(self) -> int | None:
        return None if self.pri is None else self.pri >> 3

    @property
    def severity(self) -> int | None:
        return None if self.pri is None else self.pri & 7

    def to_ecs(self, doc: dict[str, Any]) -> None:
        """Fill ``log.syslog.*``, ``host.hostname``, ``process.*`` and ``@timestamp`` in ``doc``."""
        if self.pri is not None:
            ecs.put(doc, "log.syslog.priority", self.pri)
            fac, sev = self.pri >> 3, self.pri & 7
            ecs.put(doc, "log.syslog.facility.code", fac)
            if fac < len(FACILITIES):
                ecs.put(doc, "log.syslog.facility.name", FACILITIES[fac])
            ecs.put(doc, "log.syslog.severity.code", sev)
            ecs.put(doc, "log.syslog.severity.name", SEVERITIES[sev])
        if self.version is not None:
            ecs.put(doc, "log.syslog.version", str(self.version))
        if self.hostname and self.hostname != "-":
            ecs.put(doc, "log.syslog.hostname", self.hostname)
            ecs.put(doc, "host.hostname", self.hostname)
        if self.appname and self.appname != "-":
            ecs.put(doc, "log.syslog.appname", self.appname)
            ecs.put(doc, "process.name", self.appname)
        if self.procid and self.procid != "-":
            ecs.put(doc, "log.syslog.procid", self.procid)
            if self.procid.isdigit():
                ecs.put(doc, "process.pid", int(self.procid))
        if self.msgid and self.msgid != "-":
            ecs.put(doc, "log.syslog.msgid", self.msgid)
        if self.structured_data:
            ecs.put(doc, "log.syslog.structured_data", self.structured_data)
        if self.timestamp is not None and "@timestamp" not in doc:
            doc["@timestamp"] = iso(self.timestamp)


def iso(ts: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, the form ``@timestamp`` is stored in."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str, tz: tzinfo) -> datetime | None:
    t = text.strip().replace(" ", "T", 1)
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    elif len(t) >= 5 and t[-5] in "+-" and t[-4:].isdigit() and ":" not in t[-5:]:
        t = t[:-2] + ":" + t[-2:]
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


class YearlessTime(NamedTuple):
    """A BSD timestamp without a year (``Mmm dd hh:mm:ss``) in its zone: the year comes from each line's arrival
    time (:meth:`at`), so a parser may keep this per header text and still time every line as :func:`split`."""

    month: int
    day: int
    hour: int
    minute: int
    second: int
    micro: int
    tz: tzinfo

    def at(self, received: datetime) -> datetime | None:
        """The time in the year of ``received`` (in ``tz``), or the year before when that puts it more than two
        days after ``received``: a December line read in January (never for 29 February, which the previous
        year lacks). None for a date the year lacks."""
        try:
            dt = datetime(received.astimezone(self.tz).year, self.month, self.day, self.hour, self.minute,
                          self.second, self.micro, tzinfo=self.tz)
        except ValueError:
            return None
        if dt - received > _TWO_DAYS and not (self.month == 2 and self.day == 29):
            dt = dt.replace(year=dt.year - 1)
        return dt


_TWO_DAYS = timedelta(days=2)


def _bsd_parts(mon: str, day: str, time: str, frac: str | None) -> tuple[int, int, int, int, int, int] | None:
    """(month, day, hour, minute, second, microsecond) of a BSD timestamp's fields; None if they are not one."""
    m = _MONTHS.get(mon.lower())
    if m is None:
        return None
    try:
        h, mi, s = (int(x) for x in time.split(":"))
        return m, int(day), h, mi, s, int((frac or ".0")[1:7].ljust(6, "0"))
    except ValueError:
        return None


def bsd_time(mon: str, day: str, time: str, year: str | None, frac: str | None,
             tz: tzinfo, received: datetime) -> datetime | None:
    """Build a datetime from a BSD timestamp; a missing year is inferred from ``received`` (:class:`YearlessTime`)."""
    parts = _bsd_parts(mon, day, time, frac)
    if parts is None:
        return None
    if not year:
        return YearlessTime(*parts, tz).at(received)
    try:
        return datetime(int(year), *parts, tzinfo=tz)
    except ValueError:
        return None


def header_time(line: str, tz: tzinfo) -> datetime | YearlessTime | None:
    """How :func:`split` times ``line``, without an arrival time: the header's time, a :class:`YearlessTime`
    (whose ``at(received)`` is ``split``'s timestamp), or None when the header has no valid time (``split``'s
    timestamp is None). Parsers that meet the same header text on many lines keep this per text; the pattern
    choice is ``split``'s own (the RFC 5424 pattern, then :func:`_clock`)."""
    rest = line.lstrip("\ufeff")
    m = _PRI.match(rest)
    if m:
        rest = rest[m.end():]
        m5 = _RFC5424.match(rest)
        if m5:
            return None if m5.group("ts") == "-" else parse_iso(m5.group("ts"), tz)
    return _clock(rest, tz)[0]


def _clock(rest: str, tz: tzinfo) -> tuple[datetime | YearlessTime | None, int]:
    """The RFC 3164 (or ISO 8601) timestamp at the start of ``rest``: (its time, a :class:`YearlessTime` or None
    if it is not a valid time; where it ends), or (None, -1) when ``rest`` does not start with one."""
    mt = _BSD_TS.match(rest)
    if mt:
        parts = _bsd_parts(mt.group("mon"), mt.group("day"), mt.group("time"), mt.group("frac"))
        if parts is None:
            return None, mt.end()
        zone = _tz_from_name(mt.group("tzname"), tz)
        year = mt.group("year") or mt.group("year2")
        if not year:
            return YearlessTime(*parts, zone), mt.end()
        try:
            return datetime(int(year), *parts, tzinfo=zone), mt.end()
        except ValueError:
            return None, mt.end()
    mi = _ISO_TS.match(rest)
    if mi:
        return parse_iso(mi.group("iso"), tz), mi.end()
    return None, -1


def _tz_from_name(name: str | None, default: tzinfo) -> tzinfo:
    if not name:
        return default
    if name in ("UTC", "GMT"):
        return UTC
    if name == "ICT":
        return default
    parsed = parse_iso("2000-01-01T00:00:00" + name, default)
    return parsed.tzinfo if parsed and parsed.tzinfo else default


def parse_sd(sd: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for el in _SD_ELEMENT.finditer(sd):
        params = {k: v.replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\")
                  for k, v in _SD_PARAM.findall(el.group("params"))}
        out[el.group("id")] = params
    return out


def split(line: str, ctx: ParseContext, *, expect_tag: bool = True) -> Syslog:
    """Split a syslog header from ``line``; what is not a header stays in ``message``.

    Never raises: a line without any header comes back with only ``message`` set.
    ``expect_tag`` controls whether a ``TAG:`` after the host is taken as the program name.
    """
    out = Syslog()
    rest = line.lstrip("\ufeff")
    m = _PRI.match(rest)
    if m:
        pri = int(m.group(1))
        if pri <= 191:
            out.pri = pri
        rest = rest[m.end():]
        m5 = _RFC5424.match(rest)
        if m5:
            out.version = 1
            if m5.group("ts") != "-":
                out.timestamp = parse_iso(m5.group("ts"), ctx.tz)
            out.hostname = m5.group("host")
            out.appname = m5.group("app")
            out.procid = m5.group("procid")
            out.msgid = m5.group("msgid")
            if m5.group("sd") != "-":
                out.structured_data = parse_sd(m5.group("sd"))
            msg = m5.group("msg") or ""
            out.message = msg.lstrip("\ufeff")
            return out
    # RFC 3164 and look-alikes.
    clock, end = _clock(rest, ctx.tz)
    if end >= 0:
        out.timestamp = clock.at(ctx.received) if isinstance(clock, YearlessTime) else clock
        rest = rest[end:]
    elif out.pri is None:
        out.message = line
        return out
    if out.timestamp is not None:
        # Host name, unless the next token is already the tag ("sshd[12]:").
        mh = _HOST.match(rest)
        if mh and not _TAG.fullmatch(mh.group(0).rstrip()) and not mh.group("host").endswith(":"):
            out.hostname = mh.group("host")
            rest = rest[mh.end():]
    if expect_tag:
        mtag = _TAG.match(rest)
        if mtag and (mtag.group("pid") is not None or rest[mtag.end() - 1:mtag.end()] in (" ", ":")):
            out.appname = mtag.group("tag")
            out.procid = mtag.group("pid")
            rest = rest[mtag.end():]
    out.message = rest
    return out
