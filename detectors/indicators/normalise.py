"""Canonical forms of indicator values, so that a feed's value and an event's value compare as strings.

Kinds: ``ipv4``, ``ipv6``, ``cidr`` (either family), ``domain``, ``url``, ``md5``, ``sha1``, ``sha256``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

KINDS = ("ipv4", "ipv6", "cidr", "domain", "url", "md5", "sha1", "sha256")
HASH_LEN = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]{1,63}$")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_UNRESERVED = "-._~"


class IndicatorValueError(ValueError):
    pass


def ip(value: str) -> str:
    """Canonical IP text (``::ffff:1.2.3.4`` -> ``1.2.3.4``)."""
    a = ipaddress.ip_address(value.strip().strip("[]"))
    if a.version == 6 and a.ipv4_mapped is not None:  # type: ignore[union-attr]
        a = a.ipv4_mapped  # type: ignore[union-attr]
    return str(a)


def domain(value: str) -> str:
    d = value.strip().rstrip(".").lower()
    try:
        d = d.encode("idna").decode("ascii") if any(ord(c) > 127 for c in d) else d
    except UnicodeError as exc:
        raise IndicatorValueError(f"not a domain name: {value!r}") from exc
    if not _DOMAIN.match(d):
        raise IndicatorValueError(f"not a domain name: {value!r}")
    return d


def url(value: str) -> str:
    """Normalised URL: lower-case scheme and host, no default port, no fragment, ``/`` for an empty path,
    percent-escapes of unreserved characters decoded and the rest upper-cased."""
    v = value.strip()
    if "://" not in v:
        v = "http://" + v
    try:
        parts = urlsplit(v)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise IndicatorValueError(f"not a URL: {value!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    if not host:
        raise IndicatorValueError(f"not a URL (no host): {value!r}")
    host = host.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or str(port) == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=%" + _UNRESERVED) or "/"
    query = quote(unquote(parts.query), safe="=&/:@!$'()*+,;?%" + _UNRESERVED)
    return urlunsplit((scheme, netloc, path, query, ""))


def hash_value(value: str, kind: str | None = None) -> tuple[str, str]:
    v = value.strip().lower()
    k = HASH_LEN.get(len(v))
    if not _HEX.match(v) or k is None or (kind is not None and kind != k):
        raise IndicatorValueError(f"not an {kind or 'MD5/SHA-1/SHA-256'} hash: {value!r}")
    return k, v


def cidr(value: str) -> str:
    n = ipaddress.ip_network(value.strip(), strict=False)
    return str(n)


def normalise(kind: str, value: str) -> tuple[str, str]:
    """``(kind, canonical value)``; a single-address CIDR becomes an IP. Raises :class:`IndicatorValueError`."""
    kind = kind.lower().strip()
    try:
        if kind in ("ip", "ipv4", "ipv6", "ip-dst", "ip-src", "ipv4-addr", "ipv6-addr"):
            if "/" in value:
                return normalise("cidr", value)
            v = ip(value)
            return ("ipv4" if ":" not in v else "ipv6"), v
        if kind == "cidr":
            n = ipaddress.ip_network(value.strip(), strict=False)
            if n.num_addresses == 1:
                return normalise("ip", str(n.network_address))
            return "cidr", str(n)
        if kind in ("domain", "hostname", "domain-name", "fqdn"):
            return "domain", domain(value)
        if kind in ("url", "uri", "link"):
            return "url", url(value)
        if kind in ("md5", "sha1", "sha256", "sha-1", "sha-256", "hash", "filehash", "file"):
            want = {"sha-1": "sha1", "sha-256": "sha256"}.get(kind, kind)
            return hash_value(value, want if want in ("md5", "sha1", "sha256") else None)
    except ValueError as exc:
        if isinstance(exc, IndicatorValueError):
            raise
        raise IndicatorValueError(f"not a valid {kind}: {value!r}") from exc
    raise IndicatorValueError(f"unknown indicator type {kind!r}; expected one of: {', '.join(KINDS)}")


def guess(value: str) -> tuple[str, str]:
    """Kind and canonical value of an untyped value (CSV feeds without a type column)."""
    v = value.strip()
    for kind in ("ip", "cidr"):
        try:
            return normalise(kind, v)
        except IndicatorValueError:
            pass
    if _HEX.match(v) and len(v) in HASH_LEN:
        return hash_value(v)
    if "/" in v or "://" in v:
        return normalise("url", v)
    return normalise("domain", v)
