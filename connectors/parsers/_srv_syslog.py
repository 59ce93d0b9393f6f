"""Shared start of the syslog-borne server parsers (``auth``, ``syslog``).

Splits the header with :func:`syslog_header.split`, fills ``log.syslog.*``,
``host.*``, ``process.*`` and ``@timestamp`` (the same fields as
``Syslog.to_ecs``, written directly: this runs once per line), and returns the
message body.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from .base import ParseContext, ParseError
from .syslog_header import FACILITIES, SEVERITIES, Syslog, bsd_time, iso, split

#: Solaris ``[ID 800047 auth.notice] `` prefix before the message.
_SOLARIS_ID = re.compile(r"\[ID \d+ [a-z0-9]+\.[a-z]+\] ")
#: ``su(pam_unix)[123]:``: the old PAM tag style, where the program is before the parenthesis.
_PAM_TAG = re.compile(r"(?P<prog>[^\s(\[]+)\((?P<mod>pam_[a-z_]+)\)$")


@lru_cache(maxsize=4096)
def iso_cached(ts: datetime) -> str:
    """``iso`` for timestamps that repeat (many lines share a second)."""
    return iso(ts)


#: The common RFC 3164 shape ``[<PRI>]Mmm dd hh:mm:ss host tag[pid]: msg``, read in one match.
#: Anything else (years, fractions, zones, no host, RFC 5424...) goes to ``syslog_header.split``;
#: for the lines this accepts the result is the same as ``split``'s (checked by the tests).
_FAST = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<time>\d\d:\d\d:\d\d) "
    r"(?P<host>[A-Za-z0-9][A-Za-z0-9_.\-]*) (?P<tag>[^\s\[\]:]{1,64})(?:\[(?P<pid>[^\]]{0,32})\])?: ?"
)


_TWO_DAYS = timedelta(days=2)


def _year_of(received: datetime, tz: Any) -> int:
    """The year of ``received`` in ``tz``. Two zones (or local time, for a naive ``received``) are
    under 48 hours apart, so the year can differ only within two days of New Year: the conversion
    is skipped on every other day."""
    month, day = received.month, received.day
    if (month == 1 and day <= 2) or (month == 12 and day >= 30):
        return received.astimezone(tz).year
    return received.year


@lru_cache(maxsize=4096)
def _bsd_in_year(mon: str, day: str, time: str, tz: Any, year: int, received: datetime) -> datetime | None:
    return bsd_time(mon, day.strip(), time, str(year), None, tz, received)


def _bsd_cached(mon: str, day: str, time: str, tz: Any, received: datetime) -> datetime | None:
    """``bsd_time`` without a year, cached per (timestamp, zone, year) rather than per arrival time:
    the pipeline gives every record its own ``received``, so keying on it would never hit."""
    dt = _bsd_in_year(mon, day, time, tz, _year_of(received, tz), _EPOCH)
    if dt is not None and dt - received > _TWO_DAYS and not (dt.month == 2 and dt.day == 29):
        # A December line read in January: it belongs to the previous year (as ``bsd_time`` does).
        dt = dt.replace(year=dt.year - 1)
    return dt


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: (mon, day, time, tz, year) -> (timestamp, its ISO string): one dict look-up per line for the
#: header time and ``@timestamp`` together; cleared when full (lines arrive roughly in time order).
_STAMPS: dict[tuple[str, str, str, Any, int], tuple[datetime | None, str]] = {}
#: The same key -> the previous year's timestamp, for dates ahead of their arrival time.
_PREV_STAMPS: dict[tuple[str, str, str, Any, int], tuple[datetime, str]] = {}


def _fast_stamp(mon: str, day: str, time: str, tz: Any, received: datetime) -> tuple[datetime, str] | None:
    """``(_bsd_cached(...), iso(...))`` with both halves cached; ``None`` for an impossible date."""
    rmon, rday = received.month, received.day  # _year_of, inlined (once per line)
    if (rmon == 1 and rday <= 2) or (rmon == 12 and rday >= 30):
        key = (mon, day, time, tz, received.astimezone(tz).year)
    else:
        key = (mon, day, time, tz, received.year)
    hit = _STAMPS.get(key)
    if hit is None:
        got = _bsd_in_year(mon, day, time, tz, key[4], _EPOCH)
        hit = (got, iso(got) if got is not None else "")
        if len(_STAMPS) >= 4096:
            _STAMPS.clear()
        _STAMPS[key] = hit
    dt = hit[0]
    if dt is None:
        return None
    if dt - received > _TWO_DAYS and not (dt.month == 2 and dt.day == 29):
        # As in _bsd_cached: a date ahead of arrival is last year's (importing old logs: every line).
        prev = _PREV_STAMPS.get(key)
        if prev is None:
            last = dt.replace(year=dt.year - 1)
            prev = (last, iso(last))
            if len(_PREV_STAMPS) >= 4096:
                _PREV_STAMPS.clear()
            _PREV_STAMPS[key] = prev
        return prev
    return dt, hit[1]


def fast_split(line: str, ctx: ParseContext) -> Syslog:
    """``syslog_header.split`` with a one-regex fast path for the usual BSD header."""
    m = _FAST.match(line)
    if m is None:
        return split(line, ctx)
    ts = _bsd_cached(m.group("mon"), m.group("day"), m.group("time"), ctx.tz, ctx.received)
    if ts is None:
        return split(line, ctx)
    pri = m.group("pri")
    pri_i = int(pri) if pri is not None else None
    return Syslog(pri=pri_i if pri_i is not None and pri_i <= 191 else None, timestamp=ts,
                  hostname=m.group("host"), appname=m.group("tag"), procid=m.group("pid"),
                  message=line[m.end():])


def _syslog_fields(sl: Syslog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if sl.pri is not None:
        fac, sev = sl.pri >> 3, sl.pri & 7
        out["priority"] = sl.pri
        out["facility"] = {"code": fac, "name": FACILITIES[fac]} if fac < len(FACILITIES) else {"code": fac}
        out["severity"] = {"code": sev, "name": SEVERITIES[sev]}
    if sl.version is not None:
        out["version"] = str(sl.version)
    if sl.hostname and sl.hostname != "-":
        out["hostname"] = sl.hostname
    if sl.appname and sl.appname != "-":
        out["appname"] = sl.appname
    if sl.procid and sl.procid != "-":
        out["procid"] = sl.procid
    if sl.msgid and sl.msgid != "-":
        out["msgid"] = sl.msgid
    if sl.structured_data:
        out["structured_data"] = sl.structured_data
    return out


def start(line: str, ctx: ParseContext, dataset: str, module: str = "system") -> tuple[dict[str, Any], Syslog]:
    """Return ``(doc, header)`` with the common fields filled; raises on an empty line."""
    line = line.rstrip("\r\n")
    if not line or line.isspace():
        raise ParseError("empty line")
    got = _fast_start(line, ctx, dataset, module)
    if got is not None:
        doc, tag, msg, pri_i, ts, host, pid = got
        return doc, Syslog(pri_i, ts, host, tag, pid, None, None, {}, msg)
    return _slow_start(line, ctx, dataset, module)


def start_msg(line: str, ctx: ParseContext, dataset: str, module: str = "system") -> tuple[dict[str, Any], str | None,
                                                                                        str]:
    """``start`` for callers that need only ``(doc, appname, message)``: the usual header builds no
    ``Syslog`` object (a tenth of the fast path's cost)."""
    line = line.rstrip("\r\n")
    if not line or line.isspace():
        raise ParseError("empty line")
    got = _fast_start(line, ctx, dataset, module)
    if got is not None:
        return got[0], got[1], got[2]
    doc, sl = _slow_start(line, ctx, dataset, module)
    return doc, sl.appname, sl.message


_Fast = tuple[dict[str, Any], str, str, int | None, datetime, str, str | None]


def _fast_start(line: str, ctx: ParseContext, dataset: str, module: str) -> _Fast | None:
    """The usual BSD header, written straight into the document, as ``_slow_start`` does (same
    result, checked by a test): ``(doc, tag, message, pri, timestamp, host, pid)``, or ``None`` for
    the general path (other header shapes, a "-" tag, an impossible date)."""
    m = _FAST.match(line)
    if m is None:
        return None
    pri, mon, day, time, host, tag, pid = m.groups()
    pam_mod = None
    if "(" in tag:
        mp = _PAM_TAG.match(tag)
        if mp:
            tag, pam_mod = mp.group("prog", "mod")  # the old "su(pam_unix)" tag style
    stamp = _fast_stamp(mon, day, time, ctx.tz, ctx.received) if tag != "-" else None
    if stamp is None:
        return None
    syslog: dict[str, Any] = {}
    pri_i = None
    if pri is not None:
        pri_i = int(pri)
        if pri_i <= 191:
            fac, sev = pri_i >> 3, pri_i & 7
            syslog["priority"] = pri_i
            syslog["facility"] = ({"code": fac, "name": FACILITIES[fac]} if fac < len(FACILITIES)
                                  else {"code": fac})
            syslog["severity"] = {"code": sev, "name": SEVERITIES[sev]}
        else:
            pri_i = None
    syslog["hostname"] = host
    syslog["appname"] = tag
    proc: dict[str, Any] = {"name": tag}
    if pid and pid != "-":
        syslog["procid"] = pid
        if pid.isdecimal() and len(pid) <= 18:  # isdigit() also passes "²", which int() refuses
            proc["pid"] = int(pid)
    msg = line[m.end():]
    if msg.startswith("[ID "):
        ms = _SOLARIS_ID.match(msg)
        if ms:
            msg = msg[ms.end():]
    doc: dict[str, Any] = {
        "@timestamp": stamp[1],
        "event": {"original": line, "kind": "event", "dataset": dataset, "module": module},
        "soc": {"input": ctx.source},
    }
    if pam_mod is not None:
        doc["system"] = {"auth": {"pam": {"module": pam_mod}}}
    doc["log"] = {"syslog": syslog}
    doc["host"] = {"hostname": host, "name": host}
    doc["process"] = proc
    doc["message"] = msg
    return doc, tag, msg, pri_i, stamp[0], host, pid


def _slow_start(line: str, ctx: ParseContext, dataset: str, module: str) -> tuple[dict[str, Any], Syslog]:
    """``start`` for every header shape: ``fast_split``, then the fields from the ``Syslog``."""
    sl = fast_split(line, ctx)
    doc: dict[str, Any] = {
        "@timestamp": iso_cached(sl.timestamp if sl.timestamp is not None else ctx.received),
        "event": {"original": line, "kind": "event", "dataset": dataset, "module": module},
        "soc": {"input": ctx.source},
    }
    if sl.appname and "(" in sl.appname:
        mp = _PAM_TAG.match(sl.appname)
        if mp:
            sl.appname = mp.group("prog")
            doc["system"] = {"auth": {"pam": {"module": mp.group("mod")}}}
    fields = _syslog_fields(sl)
    if fields:
        doc["log"] = {"syslog": fields}
    host = fields.get("hostname")
    if host:
        doc["host"] = {"hostname": host, "name": host}
    app = fields.get("appname")
    if app:
        proc: dict[str, Any] = {"name": app}
        pid = fields.get("procid")
        if pid and pid.isdecimal() and len(pid) <= 18:
            proc["pid"] = int(pid)
        doc["process"] = proc
    msg = sl.message
    if msg.startswith("[ID "):
        ms = _SOLARIS_ID.match(msg)
        if ms:
            msg = msg[ms.end():]
    sl.message = msg
    doc["message"] = msg
    return doc, sl
