"""FortiGate (FortiOS) syslog: traffic, UTM (webfilter, ips, virus, app-ctrl, dns, ssl...) and event logs.

Records are ``key=value`` lists with quoted values, optionally after a syslog
header. Field mapping follows Elastic's ``fortinet_fortigate`` integration
(default, traffic, utm, event and login pipelines); keys ECS has no place for
stay under ``fortinet.firewall.*`` as strings, as Elastic keeps them.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from . import syslog_header
from ._fw_common import _PRIV_CACHE as _ADDRESS_CLASSES
from ._fw_common import (
    IANA_TRANSPORT,
    add_list,
    clean_ip,
    direction_from_ips,
    registered_domain,
    syslog_fields,
    to_int,
    tz_from_offset,
)
from .base import ParseContext, ParseError
from .syslog_header import FACILITIES, SEVERITIES

NAME = "fortigate"
DATASET = "fortinet.firewall"

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
#: key=value like ``kv.PAIR``, but a key with non-word (ASCII) characters leaves group 1 empty: Elastic drops those.
#: The blank before each key is part of the match (the text is searched with a blank in front): the regex
#: engine finds a literal-class start faster than it tests a look-behind at every position. The value
#: quantifiers are possessive (same matches: nothing after them could succeed with fewer characters), which
#: spares the engine its backtracking bookkeeping: ~20 % less time in ``findall``.
_PAIR = re.compile(r'\s(?:(\w++)|[^\s="]++)=(?:"([^"]*+)"|(\S*+))', re.ASCII)


def _pairs_py(msg: str) -> dict[str, str]:
    """The record's pairs. Like Elastic: drop empty and "N/A" values and keys with non-word characters."""
    return {k: val for k, q, u in _PAIR.findall(" " + msg) if k and (val := q or u) and val != "N/A"}


try:  # the same tokeniser in C (connectors/parsers/_kvscan.c, built by `pip install`): ~3x less time
    from ._kvscan import pairs as _pairs
except ImportError:  # no compiler where it was installed
    _pairs = _pairs_py

#: Kinds of a mapping-table entry (see ``_moves_py``).
MOVE_STR, MOVE_INT, MOVE_LOWER, MOVE_MARK, MOVE_INT_INPLACE, MOVE_DROP = range(6)
MoveTable = dict[str, tuple[tuple[str, ...], int]]


def _moves_py(fw: dict[str, Any], table: MoveTable, doc: dict[str, Any]) -> list[str]:
    """Run a mapping table over the record's pairs: one pass over the keys the record HAS, instead of a probe
    per key it might have. For each key of ``fw`` that ``table`` maps to ``(path, kind)``:

    - ``MOVE_STR``/``MOVE_INT``/``MOVE_LOWER``: the key leaves ``fw`` and its value (as is, ``int()``-ed,
      lower-cased) goes to ``doc[path[0]]...[path[-1]]`` (missing dicts created); a value ``int()`` refuses is
      dropped with its key (what Elastic's ``convert`` with ``ignore_failure`` then ``remove`` does);
    - ``MOVE_MARK``: the key stays and is returned (conditional cases the Python code handles);
    - ``MOVE_INT_INPLACE``: ``fw[key] = int(value)`` when ``int()`` accepts it;
    - ``MOVE_DROP``: the key leaves ``fw``.

    Keys are visited in the order of the smaller of ``fw`` and ``table`` (``fw``'s on a tie): fewer lookups.

    The definition of ``_kvscan.moves`` (C, same result), which ``parse`` uses when it is built."""
    if doc is fw:
        raise ValueError("moves(): doc must not be fw")
    marked: list[str] = []
    gone: list[str] = []
    # The keys both have, walking the smaller of the two (fw's order on a tie): a table's targets are distinct
    # (``_table`` checks), so the order only shows in the returned list.
    both = ([(k, fw[k], e) for k, e in table.items() if k in fw] if len(table) < len(fw)
            else [(k, v, table[k]) for k, v in fw.items() if k in table])
    for key, value, entry in both:
        path, kind = entry
        if kind == MOVE_MARK:
            marked.append(key)
            continue
        if kind == MOVE_INT_INPLACE:
            with contextlib.suppress(ValueError):
                fw[key] = int(value)  # a value of a present key: allowed while iterating
            continue
        if kind == MOVE_DROP:
            gone.append(key)
            continue
        if kind not in (MOVE_STR, MOVE_INT, MOVE_LOWER):
            raise ValueError(f"moves(): unknown kind {kind} for {key!r}")
        if not path:
            raise TypeError(f"moves(): empty target path for {key!r}")
        gone.append(key)
        if kind == MOVE_INT:
            try:
                value = int(value)
            except ValueError:
                continue
        elif kind == MOVE_LOWER:
            value = value.lower()
        _store(doc, path, value)
    for key in gone:
        del fw[key]
    return marked


def _store(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """``doc[path[0]]...[path[-1]] = value``, missing dicts created."""
    d = doc
    for name in path[:-1]:
        if name not in d:
            sub = d[name] = {}
        elif not isinstance(sub := d[name], dict):
            raise TypeError(f"moves(): {name!r} is not a dict")
        d = sub
    d[path[-1]] = value


try:
    from ._kvscan import moves as _moves
except ImportError:
    _moves = _moves_py


def _pairs_moves_py(msg: str, doc: dict[str, Any], tables: dict[str | None, MoveTable],
                    take: tuple[str, ...]) -> tuple[dict[str, Any], list[str] | None, tuple[str | None, ...]]:
    """``_pairs(msg)``, then the table of the record's type run over the pairs as ``_moves`` runs it, in one step:
    ``(fw, marked, taken)``. First the keys of ``take`` (up to 8 str; the time keys ``parse`` reads and never
    keeps) leave the pairs: ``taken`` holds their values (None for a key the record has not). The table is
    ``tables[type]`` (``tables[None]`` for a type ``tables`` has not, or none).
    The keys are visited in ``fw``'s order (first occurrences, last values). ``marked`` is None, and no table
    runs, when ``parse``'s general path must: a FortiOS 4.x ``src``/``dst`` key (renamed before any table), or a
    ``msg`` that may make a login record (``login``/``logged`` in it, or any non-ASCII character: a superset of
    ``parse``'s test).

    The definition of ``_kvscan.pairs_moves`` (C, same result, key order included), which ``parse`` uses when
    it is built: there a moved key goes straight into ``doc`` and never into (then out of) ``fw``."""
    if not isinstance(take, tuple) or len(take) > 8 or not all(isinstance(k, str) for k in take):
        raise TypeError("pairs_moves(): take must be a tuple of up to 8 str")
    fw: dict[str, Any] = _pairs_py(msg)
    taken = tuple([fw.pop(k, None) for k in take])
    m = fw.get("msg")
    if "src" in fw or "dst" in fw or (
            m is not None and (not m.isascii() or "login" in (low := m.lower()) or "logged" in low)):
        return fw, None, taken
    table = tables.get(fw.get("type"))
    if table is None:
        table = tables[None]
    if not isinstance(table, dict):
        raise TypeError("pairs_moves(): a table is not a dict")
    found: list[tuple[str, Any, tuple[str, ...], int]] = []
    for key, value in fw.items():
        if key in table:
            entry = table[key]
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], tuple)
                    and isinstance(entry[1], int)):
                raise TypeError(f"moves(): table entry of {key!r} is not (path tuple, kind)")
            path, kind = entry
            if not MOVE_STR <= kind <= MOVE_DROP:
                raise ValueError(f"moves(): unknown kind for {key!r}")
            if kind <= MOVE_LOWER and not path:
                raise TypeError(f"moves(): empty target path for {key!r}")
            found.append((key, value, path, kind))
    marked: list[str] = []
    moved: list[tuple[Any, tuple[str, ...], int]] = []
    for key, value, path, kind in found:
        if kind == MOVE_MARK:
            marked.append(key)
        elif kind == MOVE_INT_INPLACE:
            with contextlib.suppress(ValueError):
                fw[key] = int(value)
        else:
            del fw[key]
            if kind != MOVE_DROP:
                moved.append((value, path, kind))
    for out, path, kind in moved:
        if kind == MOVE_INT:
            try:
                out = int(out)
            except ValueError:
                continue
        elif kind == MOVE_LOWER:
            out = out.lower()
        _store(doc, path, out)
    return fw, marked, taken


try:
    from ._kvscan import pairs_moves as _pairs_moves
except ImportError:
    _pairs_moves = _pairs_moves_py


_FAST_PRI = re.compile(r"(?:<(\d{1,3})>)?(?=[a-z_]+=)")


def _head_py(line: str) -> tuple[int, str] | None:
    """``(pri, msg)`` of ``<189>date=...`` (what FortiGate sends) or a bare ``date=...`` (pri -1): the line has no
    syslog header the general parser would find (nor a timestamp, host or tag). ``msg``: the rest of the line,
    control characters removed when it holds a NUL, CR or \\x1f. None: the general header parser's line (a header,
    or a PRI above 191).

    The definition of ``_kvscan.head`` (C, same result), which ``parse`` uses when it is built: a regex match and
    the slicing cost ~3 % of a line."""
    fast = _FAST_PRI.match(line)
    if fast is None:
        return None
    p = fast.group(1)
    pri = -1 if p is None else int(p)
    if pri > 191:
        return None
    msg = line[fast.end():]
    if "\x00" in msg or "\r" in msg or "\x1f" in msg:
        msg = _CTRL.sub("", msg)
    return pri, msg


try:
    from ._kvscan import head as _head
except ImportError:
    _head = _head_py
_SNIFF = re.compile(r"(?:^|\s)(?:logid|devid|devname)=\"?\w")
#: Counters Elastic keeps as numbers under ``fortinet.firewall`` (a tuple: probing 12 keys beats a set operation
#: over the record's keys).
_LONG_KEYS = ("auditid", "audittime", "quotamax", "quotaused", "size", "disklograte", "fazlograte",
              "lanin", "lanout", "setuprate", "wanin", "wanout")
_DIRECTIONS = {"outgoing": "outbound", "incoming": "inbound"}
_ECS_DIRECTIONS = frozenset(("ingress", "egress", "inbound", "outbound", "internal", "external"))
_LOGIN_ACTIONS_START = ("FSSO-logon", "auth-logon")
_LOGIN_ACTIONS_END = ("FSSO-logoff", "auth-logout")
_SSH_LOGIN = re.compile(r"Login from ssh: (\S+) for (\S+) from (\S+) port (\d+)")
_ADMIN_LOGIN = re.compile(r"(\S+) (\S+) login (\S+) from [^(]*\(([^)]*)\)")
_ADMIN_LOGGED = re.compile(r"(\S+) (\S+) logged in (\S+) from [^(]*\(([^)]*)\)")
_TLSVER = re.compile(r"\d")
_LEGACY = {"src": "srcip", "dst": "dstip", "sent": "sentbyte", "rcvd": "rcvdbyte", "src_port": "srcport",
           "dst_port": "dstport"}


#: (date, time, tz, ctx zone) -> (@timestamp, event.timezone) of records whose ``date``/``time`` were valid:
#: a firewall sends many records per second, so most lookups hit. Bounded; cleared when full.
_TS_CACHE: dict[tuple[str, str, str | None, tzinfo], tuple[str, str | None]] = {}
_TS_CACHE_MAX = 4096


def sniff(line: str) -> bool:
    return "=" in line and _SNIFF.search(line[:400]) is not None and "type=" in line


def _sub(doc: dict[str, Any], key: str) -> dict[str, Any]:
    d = doc.get(key)
    if d is None:
        d = doc[key] = {}
    return d  # type: ignore[no-any-return]


def _timestamp(date: str | None, time: str | None, tz_text: str | None, eventtime: str | None, ctx: ParseContext,
               hdr_line: str | None) -> tuple[str, str | None]:
    """``@timestamp`` (ISO, UTC) and ``event.timezone``: ``date``+``time`` in ``tz`` (or the source's zone),
    else ``eventtime``, else the syslog header time of ``hdr_line`` (None: no header), else the arrival time."""
    key = None
    if date and time:
        key = (date, time, tz_text, ctx.tz)
        hit = _TS_CACHE.get(key)
        if hit is not None:
            return hit
    tz = tz_from_offset(tz_text)
    zone = tz_text if tz is not None else None
    if key is not None:
        dt = _date_time(date, time, tz or ctx.tz)  # type: ignore[arg-type]
        if dt is not None:
            out = (syslog_header.iso(dt), zone)
            if len(_TS_CACHE) >= _TS_CACHE_MAX:
                _TS_CACHE.clear()
            _TS_CACHE[key] = out
            return out
    # ``iso(_eventtime(text))`` from ``_eventtime_iso``'s per-second cache (the same text, None alike).
    start = _eventtime_iso(eventtime)
    if start is not None:
        return start, zone
    # (The header's time is read here only: ``_header`` caches the rest of a header, which the time is not.)
    return syslog_header.iso(ctx.received) if hdr_line is None else _header_iso(hdr_line, ctx), zone


def _date_time(date: str, time: str, tz: tzinfo) -> datetime | None:
    """``2020-04-23`` + ``12:17:48`` without ``strptime`` (ten times slower)."""
    if len(date) != 10 or date[4] != "-" or date[7] != "-" or len(time) not in (7, 8):
        return None
    try:
        hh, mm, ss = time.split(":")
        return datetime(int(date[:4]), int(date[5:7]), int(date[8:]), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError:
        return None


def _eventtime(text: str | None) -> datetime | None:
    """FortiOS ``eventtime`` is seconds, milliseconds or nanoseconds since the epoch."""
    if not text or not text.isdigit():
        return None
    if len(text) > 18:
        text = text[:-6]
    try:
        n = int(text)
        return datetime.fromtimestamp(n / 1000 if len(text) > 11 else n, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@lru_cache(maxsize=4096)
def _second_iso(sec: int) -> str | None:
    try:
        return datetime.fromtimestamp(sec, UTC).isoformat()[:19]
    except (OverflowError, OSError, ValueError):
        return None


def _eventtime_iso(text: str | None) -> str | None:
    """``event.start`` from ``eventtime`` (what ``_eventtime`` gives, to the millisecond, as ``...Z``)
    built from a per-second cache: ``eventtime`` changes with every record."""
    if not text:
        return None
    if len(text) > 18:
        if not text.isdecimal():  # (isdigit() would pass "²", which int() refuses)
            return None
        text = text[:-6]
    # Milliseconds (what FortiOS sends): the seconds' text is a key of ``_SEC_ISO`` (ASCII digits only) and the
    # last three characters ASCII digits, so ``int()`` and ``divmod`` are not needed.
    if len(text) > 11 and (hit := _SEC_ISO.get(text[:-3])) is not None and (ms_text := text[-3:]) in _MS3:
        return hit + ms_text + "Z"
    if not text.isdecimal():
        return None
    n = int(text)
    sec, ms = divmod(n, 1000) if len(text) > 11 else (n, 0)
    if sec >= 1 << 32:
        # Far beyond 2106 the float arithmetic of ``_eventtime`` rounds differently: keep its result.
        start = _eventtime(text)
        return None if start is None else start.isoformat(timespec="milliseconds")[:-6] + "Z"
    prefix = _second_iso(sec)
    if prefix is None:
        return None
    if text.isascii():  # the seconds' text (milliseconds: all but the last three digits) -> prefix
        if len(_SEC_ISO) >= 4096:
            _SEC_ISO.clear()
        _SEC_ISO[text[:-3] if len(text) > 11 else text] = prefix + "."
    return prefix + _MILLIS[ms]


#: Seconds of an ``eventtime`` in milliseconds, as text (ASCII digits) -> ``YYYY-MM-DDTHH:MM:SS.``.
_SEC_ISO: dict[str, str] = {}
_MS3 = frozenset(f"{ms:03d}" for ms in range(1000))


#: ``.000Z`` ... ``.999Z``: a table lookup instead of formatting the milliseconds of every record.
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


#: ``log.syslog``'s facility and severity of each ``<PRI>`` (what ``syslog_fields`` writes), copied per record.
_PRI_PARTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"code": p >> 3, "name": FACILITIES[p >> 3]} if p >> 3 < len(FACILITIES) else {"code": p >> 3},
     {"code": p & 7, "name": SEVERITIES[p & 7]})
    for p in range(192)
]


def _begin_py(line: str, tz: tzinfo, consts: tuple[Any, ...]
              ) -> tuple[dict[str, Any], dict[str, Any], list[str] | None, tuple[Any, ...] | None] | None:
    """The start of ``parse`` for a line ``_head`` takes (None for any other): the document's skeleton
    (``event``, ``observer``, ``log.syslog`` from the PRI, the place of ``@timestamp``), then ``_pairs_moves``:
    ``(doc, fw, marked, taken)``. ``consts``: ``_BEGIN_CONSTS``. When the caches give every time field
    (``_times_fast_py``) they are in ``doc`` and ``taken`` is None; else ``taken`` holds the time keys' values
    for ``parse``'s general path, and no time field is written.

    The definition of ``_kvscan.begin`` (C, same result, key order included), which ``parse`` uses when it is
    built: the skeleton and the cache lookups are a fifth of a record's Python time."""
    if not isinstance(consts, tuple) or len(consts) != 6:
        raise TypeError("begin(line, tz, consts) expects a str, a zone and a 6-tuple")
    tables, take, ts_cache, sec_iso, ms3, pri_parts = consts
    if not isinstance(take, tuple) or len(take) != 5 or not isinstance(ts_cache, dict) \
            or not isinstance(sec_iso, dict) or not isinstance(pri_parts, list):
        raise TypeError("begin(): consts must be (tables, 5 take keys, dict, dict, set, list)")
    head = _head_py(line)
    if head is None:
        return None
    pri, msg = head
    event: dict[str, Any] = {"kind": "event", "module": "fortinet", "dataset": DATASET, "original": line}
    doc: dict[str, Any] = {"event": event,
                           "observer": {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"}}
    if pri >= 0:
        fac, sev = pri_parts[pri]
        doc["log"] = {"syslog": {"priority": pri, "facility": fac.copy(), "severity": sev.copy()}}
    doc["@timestamp"] = ""  # (its place in the document)
    fw, marked, taken = _pairs_moves_py(msg, doc, tables, take)
    return doc, fw, marked, None if _times_fast_py(doc, event, taken, tz, ts_cache, sec_iso, ms3) else taken


def _times_fast_py(doc: dict[str, Any], event: dict[str, Any], taken: tuple[Any, ...], tz: tzinfo,
                   ts_cache: dict[Any, Any], sec_iso: dict[str, str], ms3: frozenset[str]) -> bool:
    """``@timestamp``, ``event.timezone``, ``event.start`` and ``event.duration`` from the caches alone, what
    ``parse``'s general path gives then: ``_TS_CACHE`` holds ``(date, time, tz, zone)``, ``eventtime`` is absent
    or 10/13/19 decimal digits whose seconds ``_SEC_ISO`` holds, ``duration`` absent or up to 9 ASCII digits.
    False (nothing written) otherwise."""
    date, time, tz_key, eventtime, duration = taken
    if not (date and time):
        return False
    hit = ts_cache.get((date, time, tz_key, tz))
    if type(hit) is not tuple or len(hit) != 2:
        return False
    start = None
    if eventtime is not None:
        if not isinstance(eventtime, str):
            return False
        if len(eventtime) == 10:  # seconds (the keys of ``sec_iso`` are ASCII digits)
            if (prefix := sec_iso.get(eventtime)) is None:
                return False
            start = prefix + "000Z"
        elif not (len(eventtime) in (13, 19) and (prefix := sec_iso.get(eventtime[:10])) is not None
                  and (ms_text := eventtime[10:13]) in ms3 and eventtime.isdecimal()):
            return False
        else:
            start = prefix + ms_text + "Z"
    nanos = None
    if duration is not None:
        if not (isinstance(duration, str) and 1 <= len(duration) <= 9 and duration.isascii() and duration.isdigit()):
            return False
        nanos = int(duration) * 1_000_000_000
    doc["@timestamp"], zone = hit
    if zone:
        event["timezone"] = zone
    if start is not None:
        event["start"] = start
    if nanos is not None:
        event["duration"] = nanos
    return True


try:
    from ._kvscan import begin as _begin
except ImportError:
    _begin = _begin_py


#: The first key of a record: ``[a-z_]+=`` at the start of the line or after a blank.
_FIRST_KEY = re.compile(r"(?<!\S)[a-z_]+=")
#: Syslog header text (what precedes a line's first key) -> ``syslog_header.split``'s fields of it, the time
#: aside (``_timestamp`` reads it when it needs it). Bounded; cleared when full.
_HEADERS: dict[str, syslog_header.Syslog] = {}


def _header(line: str, ctx: ParseContext) -> tuple[syslog_header.Syslog, str]:
    """``syslog_header.split(line, ctx, expect_tag=False)`` without its ``timestamp`` (None) and ``message``
    (returned apart), from a cache of header texts: a firewall's headers repeat (its name; the time, each second).

    Only a header that ends where the record's first key starts is cached (``_FIRST_KEY``). Then another line
    with the same header text splits the same way: every header pattern ends with a blank, a digit, an upper-case
    zone name or ``:``, none of which a key (``[a-z_]+=``) can extend, and ``split`` chooses between RFC 5424 and
    the others by the header's first characters. What the arrival time and zone change is the time only, and
    whether a header time is valid (so whether a host name follows): 29 February without a year, which is
    never cached (a header with ``feb`` and ``29``)."""
    first = _FIRST_KEY.search(line)
    if first is not None:
        text = line[:first.start()]
        hit = _HEADERS.get(text)
        if hit is not None:
            return hit, line[first.start():]
    sl = syslog_header.split(line, ctx, expect_tag=False)
    msg = sl.message
    if first is not None and len(line) - len(msg) == first.start() and not ("29" in text and "feb" in text.lower()):
        if len(_HEADERS) >= 4096:
            _HEADERS.clear()
        _HEADERS[text] = syslog_header.Syslog(pri=sl.pri, hostname=sl.hostname, appname=sl.appname,
                                              procid=sl.procid, msgid=sl.msgid, structured_data=sl.structured_data,
                                              version=sl.version)
    return sl, msg


#: (syslog header text, source zone) -> how ``syslog_header.split`` times a line with that header: its time as
#: ISO text, None (no valid header time: the arrival time is used), or a ``YearlessTime`` whose year each
#: record's arrival time gives. Bounded; cleared when full.
_HEADER_TIMES: dict[tuple[str, tzinfo], str | syslog_header.YearlessTime | None] = {}
_NOT_CACHED: Any = object()


def _header_iso(line: str, ctx: ParseContext) -> str:
    """``syslog_header.iso(split(line, ctx, expect_tag=False).timestamp or ctx.received)``: a record without a
    valid ``date``/``time`` or ``eventtime`` is timed by its header. The header is read once per header text
    (and zone), by ``syslog_header.header_time``: headers repeat, and a ``split`` costs as much as the rest of the
    record. Cached as ``_header`` caches (a header ending where the first key starts)."""
    first = _FIRST_KEY.search(line)
    if first is None:
        return syslog_header.iso(syslog_header.split(line, ctx, expect_tag=False).timestamp or ctx.received)
    key = (line[:first.start()], ctx.tz)
    how = _HEADER_TIMES.get(key, _NOT_CACHED)
    if how is _NOT_CACHED:
        sl = syslog_header.split(line, ctx, expect_tag=False)
        if len(line) - len(sl.message) != first.start():
            return syslog_header.iso(sl.timestamp or ctx.received)
        clock = syslog_header.header_time(line, ctx.tz)
        how = clock if clock is None or isinstance(clock, syslog_header.YearlessTime) else syslog_header.iso(clock)
        if len(_HEADER_TIMES) >= 4096:
            _HEADER_TIMES.clear()
        _HEADER_TIMES[key] = how
    if how is None:
        return syslog_header.iso(ctx.received)
    if isinstance(how, str):
        return how
    return syslog_header.iso(how.at(ctx.received) or ctx.received)


def _begin_header(line: str, ctx: ParseContext
                  ) -> tuple[dict[str, Any], dict[str, Any], list[str] | None, tuple[Any, ...], str, syslog_header.Syslog]:
    """``_begin``'s part for a line with a syslog header (or a PRI above 191): the general header parser's
    fields, the time keys always left to ``parse``. ``(doc, fw, marked, taken, msg, header)``."""
    sl, msg = _header(line, ctx)
    if "\x00" in msg or "\r" in msg or "\x1f" in msg:
        msg = _CTRL.sub("", msg)
    doc: dict[str, Any] = {"event": {"kind": "event", "module": "fortinet", "dataset": DATASET, "original": line},
                           "observer": {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"}}
    syslog_fields(doc, sl)
    doc["@timestamp"] = ""  # (its place in the document; set by ``parse``)
    fw, marked, taken = _pairs_moves(msg, doc, _TABLES_BY_TYPE, _TIME_KEYS)
    return doc, fw, marked, taken, msg, sl


def _times(doc: dict[str, Any], event: dict[str, Any], fw: dict[str, Any], taken: tuple[Any, ...],
           ctx: ParseContext, msg: str | None, line: str) -> None:
    """``@timestamp``, ``event.timezone``/``start``/``duration`` when ``_begin`` could not write them from the
    caches. ``msg``: the record after ``line``'s syslog header (None: a line ``_head`` takes, no header)."""
    date, time, tz_key, eventtime, duration = taken
    # No pair at all is an error; only pairs that are dropped is a (bare) record.
    if not fw and date is None and time is None and tz_key is None and eventtime is None and duration is None:
        if msg is None:
            msg = _head(line)[1]  # type: ignore[index]
        if not _PAIR.findall(" " + msg):
            raise ParseError("not a FortiGate record: no key=value pairs")
    hit = _TS_CACHE.get((date, time, tz_key, ctx.tz)) if date and time else None
    if hit is None:
        hit = _timestamp(date, time, tz_key, eventtime, ctx, None if msg is None else line)
    doc["@timestamp"], tz_text = hit
    if tz_text:
        event["timezone"] = tz_text
    if eventtime is not None:
        # Nanoseconds (19 digits) or milliseconds (13), what FortiOS sends: ``_eventtime_iso``'s cache hit without
        # the call (seconds, then milliseconds, at the same place in both).
        if (((size := len(eventtime)) == 19 or size == 13) and (start := _SEC_ISO.get(eventtime[:10])) is not None
                and (ms_text := eventtime[10:13]) in _MS3 and eventtime.isdecimal()):
            event["start"] = start + ms_text + "Z"
        elif size == 10 and (start := _SEC_ISO.get(eventtime)) is not None:  # (seconds; keys: ASCII digits)
            event["start"] = start + "000Z"
        elif (start := _eventtime_iso(eventtime)) is not None:
            event["start"] = start
    if duration is not None:
        d = to_int(duration)
        if d is not None:
            event["duration"] = d * 1_000_000_000


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    # The skeleton and the pairs, with the one-target keys of the record type's table already in ``doc``
    # (``marked``: the table's marked keys the record has), or all of them (``marked`` None) when the general
    # path below must run the tables: FortiOS 4.x names to rename first, or a login message (see
    # ``_pairs_moves_py``). The time keys come apart: read here (``taken``; None when ``_begin`` could write
    # all time fields from the caches), never kept.
    sl: syslog_header.Syslog | None = None
    begun = _begin(line, ctx.tz, _BEGIN_CONSTS)
    if begun is None:
        doc, fw, marked, taken, msg, sl = _begin_header(line, ctx)
    else:
        doc, fw, marked, taken = begun
        msg = None
    event: dict[str, Any] = doc["event"]
    observer: dict[str, Any] = doc["observer"]
    if taken is not None:
        _times(doc, event, fw, taken, ctx, msg, line)

    ftype = fw.get("type")
    login = False
    type_moved = marked is not None and ftype in _TABLED_TYPES
    if type_moved and ftype == "traffic":
        _traffic_types(event, fw, "application" in doc.get("network", ()))  # (``app`` has moved)
    elif marked is None:  # the general path: the tables run here
        # FortiOS 4.x names (src=, dst=, sent=, rcvd=, status=) -> current names.
        if "src" in fw or "dst" in fw:
            for old, cur in _LEGACY.items():
                if old in fw and cur not in fw:
                    fw[cur] = fw.pop(old)
            if ftype == "traffic" and "status" in fw and "action" not in fw:
                fw["action"] = fw.pop("status")
        m = fw.get("msg")  # (``message`` once the common table has moved it)
        login = m is not None and "log" in (low := m.lower()) and ("login" in low or "logged in" in low)
        # One pass for the common and the type's table, unless ``_login`` must run in between: it looks for the
        # source the type's table would write (``_traffic_types`` reads ``app`` before it moves). Event records
        # are always one pass: ``_login`` comes after ``_event``.
        table = _MOVE_COMMON
        if ftype == "event":
            table = _MOVE_COMMON_EVENT
            type_moved = True
        elif not login:
            if ftype == "traffic":
                _traffic_types(event, fw, "app" in fw)
                table = _MOVE_COMMON_TRAFFIC
                type_moved = True
            elif ftype == "utm" or ftype == "dns":
                table = _MOVE_COMMON_UTM
                type_moved = True
        marked = _moves(fw, table, doc)
    if marked:  # the rest of the common part:
        if "dst_int" in fw and "egress" not in observer:
            observer["egress"] = {"interface": {"name": fw.pop("dst_int")}}
        if "src_int" in fw and "ingress" not in observer:
            observer["ingress"] = {"interface": {"name": fw.pop("src_int")}}
        if (v := fw.get("subject")) is not None:
            doc["email"] = {"subject": v}
        if (v := fw.get("srcname")) is not None:
            doc["host"] = {"name": v.lower()}
        if (v := fw.pop("dstmac", None)) is not None:
            _sub(doc, "destination")["mac"] = v.replace(":", "-").upper()
    if sl is not None and sl.hostname and "name" not in observer:
        observer["name"] = sl.hostname

    subtype = fw.get("subtype")
    if ftype == "event":
        _event(doc, fw, subtype, marked)  # type: ignore[arg-type]
    if login:
        _login(doc, fw)
    if ftype == "traffic":
        if not type_moved:
            _traffic_types(event, fw, "app" in fw)
            _moves(fw, _MOVE_TRAFFIC, doc)
        _traffic_rest(doc, fw)
    elif ftype == "utm" or ftype == "dns":
        if not type_moved:
            _utm(doc, fw, subtype, _moves(fw, _MOVE_UTM, doc), False)
        elif not _utm_plain(doc, fw, subtype, marked, _UTM_PLAIN_CONSTS):
            _utm(doc, fw, subtype, marked, True)  # type: ignore[arg-type]

    _end(doc, fw, ftype in _TABLED_TYPES, _END_CONSTS)
    return doc


def _end_py(doc: dict[str, Any], fw: dict[str, Any], tabled: bool, consts: tuple[Any, ...]) -> None:
    """The end of every record: ``event.action``/``reason`` from the record's keys, ``_finish`` (network.*,
    related.*), the observer's interface by the direction, the counters (``_LONG_KEYS``) as numbers unless the
    type's table converted them (``tabled``), and what is left of the record under ``fortinet.firewall``.
    ``consts``: ``_END_CONSTS``.

    The definition of ``_kvscan.end`` (C, same result, key order included), which ``parse`` uses when it is
    built: these steps run for every record."""
    if doc is fw:
        raise ValueError("end(): doc must not be fw")
    finish_consts, long_keys = consts
    event = doc.get("event")
    observer = doc.get("observer")
    if not isinstance(event, dict) or not isinstance(observer, dict):
        raise TypeError("end(): doc needs event and observer dicts")
    pop = fw.pop
    # (``in`` before ``pop``: most records have none of these keys, and a test costs less than a call.)
    if "action" not in event and "eventtype" in fw:
        event["action"] = pop("eventtype")
    if "reason" not in event:
        if "reason" in fw:
            event["reason"] = pop("reason")
        elif "eventsubtype" in fw:
            event["reason"] = pop("eventsubtype")
    _finish_py(doc, fw, finish_consts)
    if "interface" in fw:
        direction = net.get("direction") if (net := doc.get("network")) else None
        if "ingress" not in observer and direction in ("ingress", "inbound", "internal"):
            observer["ingress"] = {"interface": {"name": pop("interface")}}
        elif "egress" not in observer and direction in ("egress", "outbound", "external"):
            observer["egress"] = {"interface": {"name": pop("interface")}}
    if not tabled:  # (the tables convert them)
        for k in long_keys:
            if k in fw and (n := to_int(fw[k])) is not None:
                fw[k] = n
    if fw:
        doc["fortinet"] = {"firewall": fw}


def _finish_py(doc: dict[str, Any], fw: dict[str, Any], consts: tuple[Any, ...]) -> None:
    """The generic end of every record: ``network.direction`` (``dir``/``direction``, else from the addresses),
    ``network.bytes``/``packets``/``transport``, ``source.mac`` in Elastic's form, and ``related.ip``/``user``/
    ``hosts`` (first occurrences). ``consts``: ``_FINISH_CONSTS``.

    The definition of ``_kvscan.finish`` (C, same result, key order included), which ``parse`` uses when it is
    built: these steps run for every record and cost ~10 % of a record's Python time."""
    if doc is fw:
        raise ValueError("finish(): doc must not be fw")
    direction_from, iana_transport, directions, ecs_directions, _classes = consts
    src = doc.get("source") or {}
    dst = doc.get("destination") or {}
    net = doc.get("network") or {}
    sip = src.get("ip")
    dip = dst.get("ip")
    if "direction" not in net:
        v = fw.pop("dir") if "dir" in fw else fw.pop("direction") if "direction" in fw else None
        if v is not None:
            k = v.lower()
            k = directions.get(k, k)
            net["direction"] = k if k in ecs_directions else "unknown"
        else:
            v = direction_from(sip, dip)
            if v is not None:
                net["direction"] = v
    if "bytes" in src and "bytes" in dst:
        net["bytes"] = src["bytes"] + dst["bytes"]
    if "packets" in src and "packets" in dst:
        net["packets"] = src["packets"] + dst["packets"]
    if "iana_number" in net and (iana := net["iana_number"]) in iana_transport:
        net["transport"] = iana_transport[iana]
    if net:
        doc["network"] = net
    if "mac" in src:
        src["mac"] = src["mac"].upper().replace(":", "-").replace(".", "-")

    rel_ip: list[str] = [sip] if sip else []
    if dip and dip not in rel_ip:
        rel_ip.append(dip)
    snat = src.get("nat")
    dnat = dst.get("nat")
    for ip in (snat.get("ip") if snat else None, dnat.get("ip") if dnat else None, fw.get("ip"),
               fw.get("assignip"), fw.get("tunnelip")):
        if ip and ip not in rel_ip:
            rel_ip.append(ip)
    dns = doc.get("dns")
    if dns:
        for ip in dns.get("resolved_ip") or ():
            if ip not in rel_ip:
                rel_ip.append(ip)
    rel: dict[str, Any] = {}
    if rel_ip:
        rel["ip"] = rel_ip
    su = src.get("user")
    du = dst.get("user")
    sname = su.get("name") if su else None
    dname = du.get("name") if du else None
    if sname or dname:
        rel["user"] = [sname, dname] if sname and dname and sname != dname else [sname or dname]
    hd = doc.get("host")
    question = dns.get("question") if dns else None
    hosts: list[str] = []
    for h in (dst.get("address"), src.get("address"), hd.get("name") if hd else None,
              question.get("name") if question else None):
        if h and h not in hosts:
            hosts.append(h)
    if hosts:
        rel["hosts"] = hosts
    if rel:
        doc["related"] = rel


#: What ``_finish`` reads besides the record: the address classifier, Elastic's value tables, and the
#: classifier's cache (the C version reads it to skip the call when both addresses are in it).
_FINISH_CONSTS = (direction_from_ips, IANA_TRANSPORT, _DIRECTIONS, _ECS_DIRECTIONS, _ADDRESS_CLASSES)

try:
    from ._kvscan import finish as _finish
except ImportError:
    _finish = _finish_py

#: What ``_end`` reads besides the record.
_END_CONSTS = (_FINISH_CONSTS, _LONG_KEYS)

try:
    from ._kvscan import end as _end
except ImportError:
    _end = _end_py


def _event(doc: dict[str, Any], fw: dict[str, Any], subtype: str | None, marked: list[str]) -> None:
    """``type=event``: system, user, vpn, update... (Elastic's event pipeline), once ``_MOVE_EVENT`` has moved
    the one-target keys; ``marked``: the keys it marked (``_EVENT_RARE_KEYS`` the record has)."""
    event = doc["event"]
    outcome, types, cats = _event_kinds(fw.get("action"), subtype, fw.get("result"), fw.get("status"))
    if outcome is not None:
        event["outcome"] = outcome
    if types:
        event["type"] = list(types)
    if cats:
        event["category"] = list(cats)
    if not marked and subtype != "vpn":
        return  # (nothing below applies; the sections below are made only for what may fill them)
    src = doc.get("source")
    if src is None:
        src = doc["source"] = {}
    dst = doc.get("destination")
    if dst is None:
        dst = doc["destination"] = {}
    if marked:  # (else the record has none of ``_EVENT_RARE_KEYS``)
        _event_rare(doc, fw, event, src, dst)
    if subtype == "vpn":
        if fw.get("xauthuser") is not None:
            src.setdefault("user", {})["name"] = fw["xauthuser"]
        if fw.get("eapuser") is not None:
            src.setdefault("user", {})["name"] = fw["eapuser"]
    if marked and "advpnsc" in fw:
        fw["advpnsc"] = fw["advpnsc"] != "0"
    if subtype == "vpn":
        # remip (the client) is the source, locip (the firewall) the destination.
        user = src.pop("user", None)
        doc["source"], doc["destination"] = dst, src
        if user is not None:
            dst_now = doc["source"]
            dst_now["user"] = user
    # (Only these two can be empty here: a table writes ``network`` and ``rule`` with a value or not at all.)
    if not doc["source"]:
        del doc["source"]
    if not doc["destination"]:
        del doc["destination"]


def _event_rare(doc: dict[str, Any], fw: dict[str, Any], event: dict[str, Any], src: dict[str, Any],
                dst: dict[str, Any]) -> None:
    """``_event``'s keys few event records have (``_EVENT_RARE_KEYS``, which ``_MOVE_EVENT`` marks)."""
    pop = fw.pop
    # The second choices of the table's keys (``a or b`` in Elastic's pipeline): a ``b`` only when ``a`` gave
    # nothing; a port key leaves the record either way.
    if "remip" in fw and "ip" not in dst:
        dst["ip"] = pop("remip")
    if "remport" in fw and (p := to_int(pop("remport"))) is not None and "port" not in dst:
        dst["port"] = p
    if "dst_host" in fw and "address" not in dst:
        dst["address"] = pop("dst_host")
    if "locip" in fw and "ip" not in src:
        src["ip"] = pop("locip")
    if "source_mac" in fw and "mac" not in src:
        src["mac"] = pop("source_mac")
    if "locport" in fw and (p := to_int(pop("locport"))) is not None and "port" not in src:
        src["port"] = p
    addr = fw.get("addr")
    if addr is not None and "addrgrp" not in fw and clean_ip(addr) is None:
        fw["addrgrp"] = pop("addr")
    url = pop("url", None)
    if url is not None:
        doc["url"] = _url_parts(url)
    if (v := pop("hostname", None)) is not None:
        _sub(doc, "url")["domain"] = v
    sd = to_int(pop("sess_duration")) if "sess_duration" in fw else None
    if sd is not None and "duration" not in event:
        event["duration"] = sd
    for k in ("jitter", "latency"):  # (``mem``: the table)
        if k in fw:
            with contextlib.suppress(ValueError):
                fw[k] = float(fw[k])


@lru_cache(maxsize=256)
def _event_kinds(action: str | None, subtype: str | None, result: str | None,
                 status: str | None) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """``event.outcome``, ``event.type`` and ``event.category`` of a ``type=event`` record (Elastic's event
    pipeline), cached: a feed has few combinations of the four keys."""
    outcome = None
    if result == "ERROR" or status == "negotiate_error":
        outcome = "failure"
    if result == "OK" or action in _LOGIN_ACTIONS_START or action in _LOGIN_ACTIONS_END:
        outcome = "success"
    types: list[str] = []
    cats: list[str] = []
    if action in _LOGIN_ACTIONS_START:
        types.append("start")
    if action in _LOGIN_ACTIONS_END:
        types.append("end")
    if subtype == "vpn":
        types.append("connection")
        cats.append("network")
    if action == "perf-stats":
        types.append("info")
        cats.append("host")
    if subtype == "update":
        types.append("info")
        cats += ["host", "malware"]
    if subtype == "user":
        cats.append("authentication")
    return outcome, tuple(types), tuple(cats)


def _url_parts(url: str) -> dict[str, Any]:
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError:
        return {"original": url}
    if not u.scheme:
        return {"original": url}
    out: dict[str, Any] = {"scheme": u.scheme, "path": u.path or None, "query": u.query or None,
                           "fragment": u.fragment or None, "domain": u.hostname, "port": port,
                           "username": u.username, "password": u.password}
    return {k: v for k, v in out.items() if v is not None}


def _login(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    """Administrator / SSH / user logins (Elastic's login pipeline)."""
    event = doc["event"]
    event.setdefault("action", "login")
    cats = event.setdefault("category", [])
    cats.append("authentication")
    src = doc.get("source") or {}
    user: dict[str, Any] = doc.get("user") or {}
    sname = (src.get("user") or {}).get("name")
    if sname is not None:
        user["name"] = sname
    roles: list[str] = []
    if (v := fw.get("adminprof")) is not None:
        roles.append(v)
    uf = fw.get("userfrom")
    if isinstance(uf, str) and uf.startswith("JSON(") and uf.endswith(")"):
        src["ip"] = uf[5:-1]
    msg: str = doc.get("message", "")
    outcome: str | None = None
    if msg.startswith("user") and isinstance(fw.get("desc"), str) and fw["desc"].startswith("User login/logout "):
        outcome = fw["desc"][len("User login/logout "):]
    if msg.startswith("Login from ssh:"):
        m = _SSH_LOGIN.match(msg)
        if m:
            outcome, user["name"], src["ip"], src["port"] = m.group(1), m.group(2), m.group(3), int(m.group(4))
    elif msg.startswith("Administrator"):
        m = (_ADMIN_LOGGED if "logged in" in msg.lower() else _ADMIN_LOGIN).match(msg)
        if m:
            if m.group(1) not in roles:
                roles.append(m.group(1))
            user["name"], outcome, src["ip"] = m.group(2), m.group(3), m.group(4)
    if outcome is not None:
        low = outcome.lower()
        event["outcome"] = "failure" if low.startswith("fail") else "success" if low.startswith("success") else outcome
    if (v := fw.pop("log_id", None)) is not None:
        event["id"] = v
    if (v := fw.pop("pri", None)) is not None:
        doc.setdefault("log", {})["level"] = v
    if (v := fw.pop("device_id", None)) is not None:
        doc["observer"]["serial_number"] = v
    if roles:
        user["roles"] = roles
        src.setdefault("user", {})["roles"] = list(roles)
    if "valid" in fw:
        n = to_int(fw["valid"])
        if n is not None:
            fw["valid"] = n
    for k in ("adminprof", "userfrom", "remote_ip", "remote_port", "ui", "status"):
        fw.pop(k, None)
    if user:
        doc["user"] = user
    if src:
        doc["source"] = src


def _traffic_types(event: dict[str, Any], fw: dict[str, Any], has_app: bool) -> None:
    """``event.*`` of ``type=traffic`` (forward, local, multicast, sniffer; Elastic's traffic pipeline).
    ``has_app``: the record has ``app`` (which ``_MOVE_TRAFFIC`` moves to ``network.application``)."""
    action = fw.get("action")
    utmaction = fw.get("utmaction")
    key = (action, has_app, utmaction)
    found = _TRAFFIC_TYPES.get(key)
    if found is None:
        types = ["connection"]
        if action == "start":
            types.append("start")
        if action is not None and action != "start":
            types.append("end")
        if action != "deny":
            if has_app:
                types.append("protocol")
            if utmaction is None:
                types.append("allowed")
        if action == "deny" or utmaction == "block":
            types.append("denied")
        found = tuple(types)
        if len(_TRAFFIC_TYPES) >= 256:
            _TRAFFIC_TYPES.clear()
        _TRAFFIC_TYPES[key] = found
    if action:
        event["action"] = action
        event["outcome"] = "success"
    cats = event.get("category")
    if cats is None:
        event["category"] = ["network"]
    elif "network" not in cats:
        cats.append("network")
    if "type" in event:
        event["type"] += found
    else:
        event["type"] = list(found)


#: (action, has app, utmaction) -> ``event.type`` of a traffic record: a few combinations cover a whole feed.
_TRAFFIC_TYPES: dict[tuple[str | None, bool, str | None], tuple[str, ...]] = {}


def _traffic_rest(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    """The conditional cases of ``type=traffic``, once ``_MOVE_TRAFFIC`` has moved the one-target keys."""
    get = fw.get
    pop = fw.pop
    v: Any
    if "tranip" in fw and (v := clean_ip(fw["tranip"])) is not None:
        _sub(_sub(doc, "destination"), "nat")["ip"] = v
    if (v := get("dstcollectedemail")) is not None:
        add_list(doc.setdefault("email", {}), "to", "address", v)
    if "unauthuser" in fw:
        _sub(_sub(doc, "source"), "user")["name"] = pop("unauthuser")
    elif "user" in fw and "name" not in doc.get("source", {}).get("user", {}):
        _sub(_sub(doc, "source"), "user")["name"] = pop("user")
    if (v := get("collectedemail")) is not None:
        add_list(doc.setdefault("email", {}), "from", "address", v)
    if "transip" in fw and (v := clean_ip(fw["transip"])) is not None:
        _sub(_sub(doc, "source"), "nat")["ip"] = v
    if "appcat" in fw:
        _sub(doc, "rule")["category"] = pop("appcat").replace(".", "-")


def _table(*parts: dict[str, tuple[tuple[str, ...], int]]) -> MoveTable:
    out: MoveTable = {}
    for part in parts:
        if out.keys() & part.keys():
            raise ValueError(f"keys mapped twice: {sorted(out.keys() & part.keys())}")
        out.update(part)
    targets = [path for path, kind in out.values() if kind in (MOVE_STR, MOVE_INT, MOVE_LOWER)]
    for path in targets:  # distinct, and none inside another: then the order of the moves does not matter
        if any(other != path and other[:len(path)] == path for other in targets) or targets.count(path) > 1:
            raise ValueError(f"target {path} written twice or inside another target")
    return out


def _marks(*keys: str) -> MoveTable:
    return {k: ((), MOVE_MARK) for k in keys}


#: The part of ``parse`` every record type shares. Marked: keys with conditions or conversions of their own.
_MOVE_COMMON = _table({
    "devname": (("observer", "name"), MOVE_STR),
    "devid": (("observer", "serial_number"), MOVE_STR),
    "dstintf": (("observer", "egress", "interface", "name"), MOVE_STR),  # else dst_int
    "srcintf": (("observer", "ingress", "interface", "name"), MOVE_STR),  # else src_int
    "level": (("log", "level"), MOVE_STR),
    "msg": (("message",), MOVE_STR),
}, _marks("dst_int", "src_int", "subject", "srcname", "dstmac"))

#: The keys ``parse`` reads for the time (``_pairs_moves`` takes them out before any table runs).
_TIME_KEYS = ("date", "time", "tz", "eventtime", "duration")
#: The ``fortinet.firewall`` counters (numbers).
_COUNTERS: MoveTable = {k: ((), MOVE_INT_INPLACE) for k in _LONG_KEYS}

#: ``type=traffic`` (Elastic's traffic pipeline): one target per key. Counters are converted with ``int()`` and
#: dropped when they are not numbers. The ``fortinet.firewall`` counters (``_LONG_KEYS``) become numbers in
#: place.
_MOVE_TRAFFIC = _table({
    "dstip": (("destination", "ip"), MOVE_STR),
    "dstport": (("destination", "port"), MOVE_INT),
    "tranport": (("destination", "nat", "port"), MOVE_INT),
    "rcvdbyte": (("destination", "bytes"), MOVE_INT),
    "rcvdpkt": (("destination", "packets"), MOVE_INT),
    "dstname": (("destination", "address"), MOVE_STR),
    "dstunauthuser": (("destination", "user", "name"), MOVE_STR),
    "group": (("source", "user", "group", "name"), MOVE_STR),
    "sentbyte": (("source", "bytes"), MOVE_INT),
    "srcdomain": (("source", "domain"), MOVE_STR),
    "srcip": (("source", "ip"), MOVE_STR),
    "srcmac": (("source", "mac"), MOVE_STR),
    "srcport": (("source", "port"), MOVE_INT),
    "sentpkt": (("source", "packets"), MOVE_INT),
    "transport": (("source", "nat", "port"), MOVE_INT),
    "app": (("network", "application"), MOVE_STR),
    "filename": (("file", "name"), MOVE_STR),
    "logid": (("event", "code"), MOVE_STR),
    "comment": (("rule", "description"), MOVE_STR),
    "policyid": (("rule", "id"), MOVE_STR),
    "poluuid": (("rule", "uuid"), MOVE_STR),
    "policytype": (("rule", "ruleset"), MOVE_STR),
    "policyname": (("rule", "name"), MOVE_STR),
    "proto": (("network", "iana_number"), MOVE_STR),
    "service": (("network", "protocol"), MOVE_LOWER),
    "srcthreatfeed": (("threat", "feed", "name"), MOVE_STR),
    "url": (("url", "path"), MOVE_STR),
}, _COUNTERS,
    _marks("tranip", "dstcollectedemail", "unauthuser", "user", "collectedemail", "transip", "appcat"))
_MOVE_COMMON_TRAFFIC = _table(_MOVE_COMMON, _MOVE_TRAFFIC)

#: File keys after the table's ``filename``, ``filetype`` and ``filesize``: each only when its field is still free.
_UTM_FILE = (("infectedfilename", "name"), ("infectedfilesize", "size"), ("infectedfiletype", "extension"),
             ("matchedfilename", "name"), ("matchedfiletype", "extension"))


_UTM_FILE_KEYS = frozenset(k for k, _ in _UTM_FILE)
#: Keys ``_utm`` handles that few UTM records have: one test of the marked list spares a test per key.
_UTM_RARE_KEYS = frozenset(("remip", "dst_port", "remport", "recipient", "locip", "src_port", "locport", "sender",
                            "from", "errorcode", "event_id", "eventid", "ipaddr", "policy_id", "dtype", "filehash"))
_TLS_KEYS = frozenset(("scertcname", "scertissuer", "ccertissuer", "sender", "issuer", "authalgo", "keyalgo",
                       "notbefore", "notafter", "keysize", "sn", "certhash", "san", "cn", "kxcurve", "cipher", "sni",
                       "handshake", "tlsver"))


#: ``type=utm``/``dns`` (Elastic's utm pipeline): the keys with one target, run before ``_utm`` handles the
#: rest. A key that is only a second choice for a target (``remip`` after ``dstip``...) stays in Python.
_MOVE_UTM = _table({
    "dstip": (("destination", "ip"), MOVE_STR),  # else remip
    "dstport": (("destination", "port"), MOVE_INT),  # after dst_port, remport
    "rcvdbyte": (("destination", "bytes"), MOVE_INT),
    "group": (("source", "user", "group", "name"), MOVE_STR),
    "sentbyte": (("source", "bytes"), MOVE_INT),
    "srcdomain": (("source", "domain"), MOVE_STR),
    "srcmac": (("source", "mac"), MOVE_STR),
    "unauthuser": (("source", "user", "name"), MOVE_STR),  # else user
    "httpmethod": (("http", "request", "method"), MOVE_STR),
    "referralurl": (("http", "request", "referrer"), MOVE_STR),
    "agent": (("user_agent", "original"), MOVE_STR),
    "app": (("network", "application"), MOVE_STR),
    "proto": (("network", "iana_number"), MOVE_STR),
    "service": (("network", "protocol"), MOVE_LOWER),
    "appcat": (("rule", "category"), MOVE_STR),  # else catdesc
    "applist": (("rule", "ruleset"), MOVE_STR),  # else profile
    "error": (("event", "message"), MOVE_STR),
    "logid": (("event", "code"), MOVE_STR),  # errorcode overrides it
    "ref": (("event", "reference"), MOVE_STR),
    "filename": (("file", "name"), MOVE_STR),
    "filetype": (("file", "extension"), MOVE_STR),
    "filesize": (("file", "size"), MOVE_INT),
    "hostname": (("url", "domain"), MOVE_STR),
    "url": (("url", "path"), MOVE_STR),
    "xid": (("dns", "id"), MOVE_STR),
    "qclass": (("dns", "question", "class"), MOVE_STR),
    "qname": (("dns", "question", "name"), MOVE_STR),
    "qtype": (("dns", "question", "type"), MOVE_STR),
}, _COUNTERS, _marks(*_UTM_FILE_KEYS, *_TLS_KEYS, *(_UTM_RARE_KEYS - _TLS_KEYS)))  # (``_utm`` tests the list)

#: Keys ``_event`` handles that few event records have: marked, so that a record with none skips their tests.
_EVENT_RARE_KEYS = ("remip", "remport", "dst_host", "locip", "source_mac", "locport", "addr", "url", "hostname",
                    "sess_duration", "jitter", "latency", "advpnsc")

#: ``type=event`` (Elastic's event pipeline), run before ``_event`` handles the rest (second choices, ``url``).
_MOVE_EVENT = _table({
    "dstip": (("destination", "ip"), MOVE_STR),  # else remip
    "dstport": (("destination", "port"), MOVE_INT),  # else remport
    "rcvdbyte": (("destination", "bytes"), MOVE_INT),
    "daddr": (("destination", "address"), MOVE_STR),  # else dst_host
    "group": (("source", "user", "group", "name"), MOVE_STR),
    "sentbyte": (("source", "bytes"), MOVE_INT),
    "srcip": (("source", "ip"), MOVE_STR),  # else locip
    "srcmac": (("source", "mac"), MOVE_STR),  # else source_mac
    "srcport": (("source", "port"), MOVE_INT),  # else locport
    "user": (("source", "user", "name"), MOVE_STR),
    "saddr": (("source", "address"), MOVE_STR),
    "agent": (("user_agent", "original"), MOVE_STR),
    "file": (("file", "name"), MOVE_STR),
    "filesize": (("file", "size"), MOVE_INT),
    "logid": (("event", "code"), MOVE_STR),
    "policyid": (("rule", "id"), MOVE_STR),
    "logdesc": (("rule", "description"), MOVE_STR),
    "proto": (("network", "iana_number"), MOVE_STR),
    "service": (("network", "protocol"), MOVE_LOWER),
    "error_num": (("error", "code"), MOVE_STR),
    "mem": ((), MOVE_INT_INPLACE),
}, _COUNTERS, _marks(*_EVENT_RARE_KEYS))

#: ``srcport`` moves in the one pass only: after ``_login`` (the UTM table's other use), a port it took from
#: the message stays.
_MOVE_COMMON_UTM = _table(_MOVE_COMMON, _MOVE_UTM, {"srcport": (("source", "port"), MOVE_INT)})
_MOVE_COMMON_EVENT = _table(_MOVE_COMMON, _MOVE_EVENT)

#: Record types whose tables convert ``_LONG_KEYS``.
_TABLED_TYPES = frozenset(("traffic", "utm", "dns", "event"))
#: The one-pass table of each record type (``None``: any other type, or none), for ``_pairs_moves``.
_TABLES_BY_TYPE: dict[str | None, MoveTable] = {None: _MOVE_COMMON, "traffic": _MOVE_COMMON_TRAFFIC,
                                                "utm": _MOVE_COMMON_UTM, "dns": _MOVE_COMMON_UTM,
                                                "event": _MOVE_COMMON_EVENT}
assert _TABLES_BY_TYPE.keys() - {None} == _TABLED_TYPES
#: What ``_begin`` reads besides the line and the zone.
_BEGIN_CONSTS = (_TABLES_BY_TYPE, _TIME_KEYS, _TS_CACHE, _SEC_ISO, _MS3, _PRI_PARTS)


def _first_port(side: dict[str, Any], fw: dict[str, Any], first: str, second: str) -> None:
    """``side["port"]``: the first of ``fw[first]``, ``fw[second]`` that is a number, else what the table gave;
    both keys leave the record."""
    for k in (first, second):
        if k in fw and (n := to_int(fw.pop(k))) is not None:
            side["port"] = n
            fw.pop(second, None)
            return


def _utm(doc: dict[str, Any], fw: dict[str, Any], subtype: str | None, marked: list[str],
         srcport_moved: bool) -> None:
    """``type=utm``: webfilter, virus, ips, app-ctrl, dns, ssl, emailfilter... (Elastic's utm pipeline), once
    ``_MOVE_UTM`` has moved the one-target keys; ``marked``: the keys it marked (``_MOVE_COMMON_UTM``'s, with
    ``srcport_moved``)."""
    event = doc["event"]
    pop = fw.pop
    action = fw.get("action")
    types: list[str] = event.get("type", [])
    if action in ("block", "blocked"):
        types.append("denied")
    if subtype == "dns":
        types.append("info")
    if action in ("pass", "passthrough"):
        types.append("allowed")
    if types:
        event["type"] = types
    if action is not None:
        event["outcome"] = "success"
    cats = event.get("category")
    if cats is None:
        event["category"] = ["network"]
    elif "network" not in cats:
        cats.append("network")
    # (``_sub`` inlined: a call costs more than these tests.) ``destination`` is made here (its place in the
    # document) only when something below may fill it: a rare key or the TLS keys.
    src = doc.get("source")
    if src is None:
        src = doc["source"] = {}
    rare = marked and not _UTM_RARE_KEYS.isdisjoint(marked)
    tls = marked and not _TLS_KEYS.isdisjoint(marked)
    dst = doc.get("destination")
    if dst is None and (rare or tls):
        dst = doc["destination"] = {}
    # The other choices of the table's keys (``a or b`` in Elastic's pipeline): ``b`` only when ``a`` gave
    # nothing, and a port key leaves the record either way. ``dst_port``, ``remport`` come before the table's
    # ``dstport``: the first number of the three wins. The source keys are all here: ``_login`` (which may
    # run before) can have set ``source.ip`` and ``source.port``, and those it set stay.
    # (``rare``: the record may have one of ``_UTM_RARE_KEYS``; a marked list holds those it has.)
    if rare and dst is not None:  # (always made when rare)
        if "remip" in fw and "ip" not in dst:
            dst["ip"] = pop("remip")
        if "dst_port" in fw or "remport" in fw:
            _first_port(dst, fw, "dst_port", "remport")
    if rare and (v := pop("recipient", None)) is not None:
        doc.setdefault("email", {})["to"] = {"address": [v]}
    if rare and "locip" in fw:
        src["ip"] = pop("locip")
    elif "srcip" in fw and "ip" not in src:
        src["ip"] = pop("srcip")
    if srcport_moved:
        if rare and ("locport" in fw or "src_port" in fw):
            _first_port(src, fw, "locport", "src_port")
    elif "locport" in fw or "src_port" in fw or "srcport" in fw:
        for k in ("locport", "src_port", "srcport"):
            if "port" not in src and (n := to_int(fw.get(k))) is not None:
                src["port"] = n
            fw.pop(k, None)
    if "user" in fw and "name" not in src.get("user", {}):
        src.setdefault("user", {})["name"] = pop("user")
    if rare and (v := fw.get("sender")) is not None:
        add_list(doc.setdefault("email", {}), "sender", "address", v)
    if rare and (v := fw.get("from")) is not None:
        add_list(doc.setdefault("email", {}), "from", "address", v)
    rule = doc.get("rule")
    if rule is None:
        rule = doc["rule"] = {}
    if "category" not in rule and "catdesc" in fw:
        rule["category"] = pop("catdesc")
    if "category" in rule:
        rule["category"] = rule["category"].replace(".", "-")
    if rare and "errorcode" in fw:
        event["code"] = pop("errorcode")  # (before the table's logid)
    if rare and ("event_id" in fw or "eventid" in fw):
        event["id"] = pop("event_id", None) or pop("eventid")
    if marked and not _UTM_FILE_KEYS.isdisjoint(marked):
        file: dict[str, Any] = doc.get("file") or {}
        for k, f in _UTM_FILE:
            if f not in file and (v := pop(k, None)) is not None:
                file[f] = v
        if file:
            doc["file"] = file
    if rare and (v := pop("ipaddr", None)) is not None:
        doc.setdefault("dns", {})["resolved_ip"] = v.split(", ")
    if rare and "policy_id" in fw:
        rule["id"] = pop("policy_id", None) or pop("policyid")
    elif "policyid" in fw:
        rule["id"] = pop("policyid")
    if "ruleset" not in rule and (v := pop("profile", None)) is not None:
        rule["ruleset"] = v
    if tls:
        _utm_tls(doc, fw)
    if rare and (v := fw.pop("dtype", None)) is not None:
        doc["vulnerability"] = {"category": [v]}
    if rare and (v := pop("filehash", None)) is not None:
        doc.setdefault("fortinet", {})["file"] = {"hash": {"crc32": v}}
        add_list(doc, "related", "hash", v)
    if (dns := doc.get("dns")) is not None and (q := dns.get("question")) is not None and "name" in q:
        q.update(registered_domain(q["name"]))
    if tls:  # (TLS keys all)
        for k in ("cn", "san", "scertcname", "tlsver"):
            fw.pop(k, None)
    # (These three are ``doc``'s own sections: created or found above, never replaced; ``network`` is never empty.)
    if not src:
        del doc["source"]
    if dst is not None and not dst:
        del doc["destination"]
    if not rule:
        del doc["rule"]


#: The keys only the rare, TLS and file parts of ``_utm`` read: a record with none of them marked skips them.
_UTM_PLAIN_KEYS = _UTM_RARE_KEYS | _TLS_KEYS | _UTM_FILE_KEYS


def _utm_plain_py(doc: dict[str, Any], fw: dict[str, Any], subtype: str | None, marked: Any,
                  consts: tuple[Any, ...]) -> bool:
    """``_utm(doc, fw, subtype, marked, True)`` when ``marked`` (a list) names none of ``consts[0]`` (True), else
    nothing (False). ``consts``: ``_UTM_PLAIN_CONSTS``.

    The definition of ``_kvscan.utm_plain`` (C, same result, key order included), which ``parse`` uses when it is
    built: most UTM records have none of those keys, and ``_utm`` is then a fixed sequence of dict steps (a
    tenth of a UTM record's time in Python)."""
    if not isinstance(consts, tuple) or len(consts) != 3 or not isinstance(consts[0], (set, frozenset)):
        raise TypeError("utm_plain(doc, fw, subtype, marked, consts) expects a 3-tuple of consts")
    if not isinstance(marked, list) or not consts[0].isdisjoint(marked):
        return False
    consts[2](doc, fw, subtype, marked, True)
    return True


def _utm_tls(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    pop = fw.pop
    tls: dict[str, Any] = {}
    server: dict[str, Any] = {}
    x509: dict[str, Any] = {}
    if (v := fw.get("scertcname")) is not None:
        x509["subject"] = {"common_name": [v]}
    if (v := pop("scertissuer", None)) is not None:
        server["issuer"] = v
        x509["issuer"] = {"common_name": [v]}
    if (v := pop("ccertissuer", None)) is not None:
        tls["client"] = {"issuer": v, "x509": {"issuer": {"common_name": [v]}}}
    if (v := pop("sender", None)) is not None:
        server["issuer"] = v
    if "issuer" not in server and (v := pop("issuer", None)) is not None:
        server["issuer"] = v
    v = pop("authalgo", None) or pop("keyalgo", None)
    if v is not None:
        x509["public_key_algorithm"] = v
    if (v := pop("notbefore", None)) is not None:
        server["not_before"] = x509["not_before"] = v
    if (v := pop("notafter", None)) is not None:
        server["not_after"] = x509["not_after"] = v
    if "keysize" in fw and (n := to_int(pop("keysize"))) is not None:
        x509["public_key_size"] = n
    if (v := pop("sn", None)) is not None:
        x509["serial_number"] = v
    if (v := pop("certhash", None)) is not None:
        server["hash"] = {"sha1": v}
        add_list(doc, "related", "hash", v)
    if (v := fw.get("san")) is not None:
        x509["alternative_names"] = v.split(";")
    if (v := fw.get("cn")) is not None:
        alts = x509.setdefault("alternative_names", [])
        if v not in alts:
            alts.append(v)
    if "public_key_algorithm" in x509:
        tls.setdefault("client", {}).setdefault("x509", {})["public_key_algorithm"] = x509["public_key_algorithm"]
    if (v := pop("kxcurve", None)) is not None:
        tls["curve"] = v
    if (v := pop("cipher", None)) is not None:
        tls["cipher"] = v
    if (v := pop("sni", None)) is not None:
        tls.setdefault("client", {})["server_name"] = v
        dst = _sub(doc, "destination")
        dst.setdefault("domain", v)
    if fw.get("handshake") == "full":
        tls["established"] = True
    tv = fw.get("tlsver")
    if isinstance(tv, str):
        low = tv.lower()
        m = _TLSVER.search(low)
        if m:
            tls["version_protocol"] = low[:m.start()]
            ver = low[m.start():]
            tls["version"] = ver if "." in ver else ver + ".0"
    if x509:
        server["x509"] = x509
    if server:
        tls["server"] = server
    if tls:
        doc["tls"] = tls


#: What ``_utm_plain`` reads besides the record (``_utm``: for documents of other shapes than ``parse`` makes).
_UTM_PLAIN_CONSTS = (_UTM_PLAIN_KEYS, registered_domain, _utm)

try:
    from ._kvscan import utm_plain as _utm_plain
except ImportError:
    _utm_plain = _utm_plain_py
