"""Shared pieces of the web-server and proxy parsers (nginx, apache, squid).

Kept private: URL splitting, user-agent parsing (cached, ``ua-parser`` when
installed), the common/combined access-log line, and the helpers that fill
``event.*``/``http.*``/``source.*`` the same way for every web format.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from soc import ecs

from . import _srv_ecs
from .base import ParseError

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

#: ``10/Oct/2000:13:55:36 -0700`` (the offset is optional in some custom formats).
_HTTPDATE = re.compile(r"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:\s+([+-])(\d{2}):?(\d{2}))?$")


@lru_cache(maxsize=64)
def _offset(sign: str, hh: str, mm: str) -> tzinfo:
    delta = timedelta(hours=int(hh), minutes=int(mm))
    return timezone(-delta if sign == "-" else delta)


@lru_cache(maxsize=4096)
def http_date_iso(text: str, default_tz: tzinfo) -> str | None:
    """``http_date`` as the stored ISO string, cached: consecutive access-log lines share seconds."""
    from .syslog_header import iso

    ts = http_date(text, default_tz)
    return iso(ts) if ts is not None else None


def http_date(text: str, default_tz: tzinfo) -> datetime | None:
    m = _HTTPDATE.match(text)
    if not m:
        return None
    day, mon, year, hh, mi, ss, frac, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.capitalize())
    if month is None:
        return None
    tz = _offset(sign, oh, om) if sign else default_tz
    try:
        return datetime(int(year), month, int(day), int(hh), int(mi), int(ss),
                        int((frac or "0").ljust(6, "0")), tzinfo=tz)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def ip_or_none(text: str) -> str | None:
    """The address in canonical form if ``text`` is an IP (brackets and zone allowed), else ``None``."""
    t = text.strip().strip("[]")
    if not t or len(t) > 64:
        return None
    try:
        a = ipaddress.ip_address(t)
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)  # ::ffff:1.2.3.4 -> 1.2.3.4, so inventories and indicators match
    return t


def set_address(doc: dict[str, Any], prefix: str, value: str | None) -> None:
    """Fill ``<prefix>.address`` and ``.ip`` or ``.domain`` as Elastic does."""
    if not value or value == "-":
        return
    o = _srv_ecs.sub(doc, prefix)
    o["address"] = value
    ip = ip_or_none(value)
    if ip is not None:
        o["ip"] = ip
    else:
        o["domain"] = value


_URL = re.compile(
    r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?:(?P<userinfo>[^@/?#\s]*)@)?(?P<host>\[[^\]]*\]|[^:/?#\s]*)(?::(?P<port>\d{1,5}))?)?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$",
    re.S,
)
_HOSTPORT = re.compile(r"(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d{1,5})$")


_URL_NOT_IN_HOST = frozenset("@[?#\\ \t\r\n\x0b\x0c")


def _split_http_url(original: str) -> tuple[str, str, str | None, str, str | None, str | None, None] | None:
    """``http(s)://host[:port]/path?query#fragment`` split with ``str`` methods (the usual proxy and
    absolute-form target); ``None`` for anything else, which the regex handles."""
    scheme, sep, rest = original.partition("://")
    if not sep or scheme not in ("http", "https", "HTTP", "HTTPS", "ftp"):
        return None
    hostport, slash, tail = rest.partition("/")
    if not _URL_NOT_IN_HOST.isdisjoint(hostport):
        return None
    host, colon, port = hostport.partition(":")
    if colon and not (port.isdigit() and port.isascii() and len(port) <= 5):
        return None
    p, hsh, fragment = (slash + tail).partition("#")
    path, q, query = p.partition("?")
    return scheme, host, port if colon else None, path, query if q else None, fragment if hsh else None, None


@lru_cache(maxsize=8192)
def host_fields(host: str) -> tuple[tuple[str, str], ...]:
    """``url.domain``/``top_level_domain``/``registered_domain`` of a URL host, cached: hosts repeat
    far more than URLs do."""
    host = host.strip("[]")
    if not host:
        return ()
    labels = host.rsplit(".", 2)
    if len(labels) >= 2 and labels[-1].isalpha() and ip_or_none(host) is None:
        return (("domain", host), ("top_level_domain", labels[-1].lower()),
                ("registered_domain", ".".join(labels[-2:]).lower()))
    return (("domain", host),)


def url_fields(original: str, *, authority: bool = False) -> dict[str, Any] | None:
    """The ``url`` object for a request target (path, absolute URL, or ``host:port`` of CONNECT);
    ``None`` for an empty or ``-`` target.

    ``authority``: also split a ``host:port`` target (proxies), where Elastic keeps
    only ``url.original`` but a SOC wants the domain to match indicators on.
    """
    if not original or original == "-":
        return None
    url: dict[str, Any] = {"original": original}
    if not original.startswith("/") and "://" not in original:
        mh = _HOSTPORT.match(original) if authority else None
        if mh:
            host = mh.group("host").strip("[]")
            if host:
                url["domain"] = host
            p = int(mh.group("port"))
            if 0 < p < 65536:
                url["port"] = p
        return url
    parts = _split_http_url(original)
    if parts is not None:
        scheme, host, port, path, query, fragment, userinfo = parts
    else:
        m = _URL.match(original)
        if not m:
            return url
        scheme, host, port = m.group("scheme"), m.group("host"), m.group("port")
        path, query, fragment, userinfo = m.group("path"), m.group("query"), m.group("fragment"), m.group("userinfo")
    if scheme:
        url["scheme"] = scheme.lower()
    if host:
        url.update(host_fields(host))
    if port:
        p = int(port)
        if 0 < p < 65536:
            url["port"] = p
    if userinfo:
        user = userinfo.partition(":")[0]
        if user:
            url["username"] = unquote(user)
    if path:
        decoded = unquote(path, errors="surrogateescape") if "%" in path else path
        url["path"] = decoded
        last = decoded.rpartition("/")[2]
        if "." in last:
            ext = last.rpartition(".")[2]
            if ext and len(ext) <= 16 and ext.isalnum():
                url["extension"] = ext.lower()
    if query:
        url["query"] = query
    if fragment:
        url["fragment"] = fragment
    return url


def fill_url(doc: dict[str, Any], original: str, *, authority: bool = False) -> None:
    """Fill ``url.*`` in ``doc`` from a request target (see :func:`url_fields`), keeping what is there."""
    fields = url_fields(original, authority=authority)
    if fields is not None:
        _srv_ecs.sub(doc, "url").update(fields)


_ua_parse: Callable[[str], Any] | None
try:  # ua-parser is optional: without it only user_agent.original is filled.
    from ua_parser import parse as _ua_parse
except ImportError:  # pragma: no cover - depends on the environment
    _ua_parse = None


def _join(*parts: str | None) -> str | None:
    out = [p for p in parts if p]
    return ".".join(out) if out else None


@lru_cache(maxsize=8192)
def _ua_fields(ua: str) -> tuple[tuple[str, str], ...]:
    if _ua_parse is None or len(ua) > 2048:
        return ()
    try:
        r = _ua_parse(ua)
    except Exception:  # noqa: BLE001 - a third-party regex library must not break parsing
        return ()
    out: list[tuple[str, str]] = []
    if r.user_agent is not None:
        out.append(("user_agent.name", r.user_agent.family))
        v = _join(r.user_agent.major, r.user_agent.minor, r.user_agent.patch, r.user_agent.patch_minor)
        if v:
            out.append(("user_agent.version", v))
    if r.os is not None and r.os.family != "Other":
        out.append(("user_agent.os.name", r.os.family))
        v = _join(r.os.major, r.os.minor, r.os.patch, r.os.patch_minor)
        if v:
            out.append(("user_agent.os.version", v))
            out.append(("user_agent.os.full", f"{r.os.family} {v}"))
        else:
            out.append(("user_agent.os.full", r.os.family))
    out.append(("user_agent.device.name", r.device.family if r.device is not None else "Other"))
    return tuple(out)


def fill_user_agent(doc: dict[str, Any], ua: str | None) -> None:
    if not ua or ua == "-":
        return
    out: dict[str, Any] = {"original": ua}
    for k, v in _ua_fields(ua):
        parts = k.split(".")  # "user_agent.name", "user_agent.os.version"...
        if len(parts) == 2:
            out[parts[1]] = v
        else:
            out.setdefault(parts[1], {})[parts[2]] = v
    doc["user_agent"] = out


def outcome_from_status(status: int | None) -> str | None:
    if status is None:
        return None
    return "failure" if status >= 400 else "success"


def to_int(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


# --- common / combined access log -------------------------------------------------------

#: After the ``[time]``: ``"request" status bytes ["referer" "ua"] rest``.
_AFTER = re.compile(
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)'
    r'(?: (?P<bytes2>\d+))?'
    r'(?: +"(?P<referrer>(?:[^"\\]|\\.)*)" +"(?P<agent>(?:[^"\\]|\\.)*)")?'
    r"(?P<rest>.*)$",
    re.S,
)
#: One item of the part before ident/user: a quoted list, a comma list, or one token.
_ITEM = re.compile(r'"[^"]*"|[^\s",]+(?:,\s*[^\s",]+)*')
_REQUEST = re.compile(r"(?P<method>[A-Za-z]{1,20}) (?P<target>\S+)(?: HTTP/(?P<version>[0-9.]{1,5}))?$")
_XFF = re.compile(r'X-Forwarded-For="(?P<xff>[^"]*)"')
_SPLIT_LIST = re.compile(r'[",\s]+')


def parse_access(doc: dict[str, Any], line: str, ctx_tz: tzinfo, module: str) -> bool:
    """Fill ``doc`` from a common/combined access line; return False when the line is not one."""
    head, sep, tail = line.partition(" [")
    if not sep or len(head) > 4096:
        return False
    tokens = head.rsplit(" ", 2)
    if len(tokens) < 3:
        return False
    hosts, ident, user = tokens
    time_text, sep, after = tail.partition("] ")
    if not sep:
        return False
    m = _AFTER.match(after)
    if not m:
        return False
    stamp = http_date_iso(time_text, ctx_tz) if len(time_text) <= 64 else None
    if stamp is None:
        raise ParseError(f"bad access-log time [{time_text[:40]}]")
    doc["@timestamp"] = stamp
    items = _ITEM.findall(hosts)
    if not items or "".join(items).replace('"', "").replace(",", "").strip() == "":
        return False
    if len(items) >= 2 and all(i == "-" for i in items[1:]):
        items = items[:1]  # "client - - - [": an extra dash column, not a virtual host
    if len(items) >= 2:
        vhost = items[0]
        mh = _HOSTPORT.match(vhost)
        host, port = (mh.group("host"), mh.group("port")) if mh else (vhost, None)
        ip = ip_or_none(host)
        if ip is not None:
            ecs.put(doc, "destination.ip", ip)
        else:
            ecs.put(doc, "destination.domain", host)
            ecs.put(doc, "url.domain", host)
        if port:
            ecs.put(doc, "destination.port", int(port))
        items = items[1:]
    remotes = [r for it in items for r in _SPLIT_LIST.split(it) if r and r != "-"]
    user = user.strip('"')
    if user and user != "-":
        doc["user"] = {"name": user}
    if ident != "-":
        ecs.put(doc, f"{module}.access.identity", ident)
    request = m.group("request")
    rm = _REQUEST.match(request)
    http: dict[str, Any] = {}
    response: dict[str, Any] = {}
    doc["http"] = http
    if rm:
        http["request"] = {"method": rm.group("method")}
        fill_url(doc, rm.group("target"))
        if rm.group("version"):
            http["version"] = rm.group("version")
    elif request and request != "-":
        ecs.put(doc, f"{module}.access.request", request)
    status = to_int(m.group("status"))
    if status is not None:
        response["status_code"] = status
        doc["event"]["outcome"] = "failure" if status >= 400 else "success"
    body = to_int(m.group("bytes"))
    if body is not None:
        response["body"] = {"bytes": body}
    if response:
        http["response"] = response
    ref = m.group("referrer")
    if ref and ref != "-":
        http.setdefault("request", {})["referrer"] = ref
    if not http:
        del doc["http"]
    fill_user_agent(doc, m.group("agent"))
    rest = m.group("rest") or ""
    xff: list[str] = []
    mx = _XFF.search(rest)
    if mx and mx.group("xff") not in ("", "-"):
        xff = [x for x in _SPLIT_LIST.split(mx.group("xff")) if x]
    elif rest.strip().startswith('"'):
        # nginx combined plus "$http_x_forwarded_for"
        q = rest.strip().split('"')
        if len(q) >= 2 and q[1] not in ("", "-"):
            xff = [x for x in _SPLIT_LIST.split(q[1]) if x]
    doc["_remotes"] = remotes
    doc["_xff"] = xff
    doc["_rest"] = rest
    return True


@lru_cache(maxsize=4096)
def is_public(ip: str) -> bool:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (a.is_private or a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified)


def new_doc(line: str, module: str, dataset: str, ctx_source: str) -> dict[str, Any]:
    return {
        "event": {"original": line, "kind": "event", "category": ["web"], "dataset": dataset,
                  "module": module},
        "soc": {"input": ctx_source},
    }


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("_remotes", None)
    doc.pop("_xff", None)
    doc.pop("_rest", None)
    _srv_ecs.related(doc)
    fwd = ecs.get(doc, "network.forwarded_ip")
    if fwd and ip_or_none(fwd):
        ecs.append(doc, "related.ip", fwd)
    return doc


_SYSLOG_START = re.compile(r"<\d{1,3}>|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d |\d{4}-\d{2}-\d{2}[T ]\d")


def strip_syslog(line: str, ctx: Any, doc: dict[str, Any]) -> str:
    """When ``line`` came over syslog (``<PRI>``/timestamp, host, ``nginx:``), fill the header fields
    in ``doc`` and return the message; otherwise return ``line`` unchanged."""
    if not _SYSLOG_START.match(line):
        return line
    from .syslog_header import split

    sl = split(line, ctx)
    if sl.appname is None and sl.timestamp is None:
        return line
    sl.to_ecs(doc)
    doc.pop("@timestamp", None)
    if sl.hostname and sl.hostname != "-":
        ecs.put(doc, "host.name", sl.hostname)
    return sl.message
