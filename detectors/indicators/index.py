"""In-memory indicator index: what the matcher consults for every event.

Lookups cost the same whether 100 or 3 million indicators are loaded:

- IP addresses: one dict keyed by the address as an integer (IPv6 offset above the IPv4 space), so
  ``2001:DB8::1`` and ``2001:db8::1`` are the same key, as are ``::ffff:1.2.3.4`` and ``1.2.3.4``;
- CIDR ranges: sorted integer ranges searched with ``bisect``. CIDR blocks never partly overlap (two
  blocks are nested or disjoint), so the block starting closest below an address either contains it or
  one of its ancestors does; a parent pointer per block gives the innermost containing block in at most
  prefix-length steps;
- domains: one dict; an event's domain is looked up with each of its parent domains
  (``a.b.evil.example`` -> ``b.evil.example`` -> ``evil.example``...), so an indicator covers subdomains;
- URLs (normalised, see :mod:`detectors.indicators.normalise`) and hashes: dicts.

The index is built once and then only read; reloading builds a new index and swaps the reference, so
the event path never waits for a feed.
"""

from __future__ import annotations

import bisect
import socket
from dataclasses import dataclass, field
from typing import NamedTuple

from detectors.indicators import normalise as norm

V6_OFFSET = 1 << 33


class Indicator(NamedTuple):
    """One indicator as the matcher needs it (a tuple: millions of them must stay small)."""

    kind: str
    value: str
    feed: str
    tlp: str
    ref: str | None = None
    """STIX id of the indicator, when the feed gave one."""
    name: str | None = None
    valid_from: float | None = None
    valid_until: float | None = None
    level: str | None = None
    confidence: int | None = None


def ip_key(text: str) -> int | None:
    """Integer key of an IP address string, or ``None`` if it is not one (fast path: inet_pton)."""
    try:
        if ":" in text:
            if text.startswith("["):
                text = text.strip("[]")
            n = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0]), "big")
            if n >> 32 == 0xFFFF:  # ::ffff:a.b.c.d
                return n & 0xFFFFFFFF
            return n + V6_OFFSET
        return int.from_bytes(socket.inet_aton(text), "big") if text.count(".") == 3 else None
    except (OSError, ValueError):
        return None


def _interned(s: str, pool: dict[str, str]) -> str:
    return pool.setdefault(s, s)


@dataclass
class IndicatorIndex:
    ips: dict[int, Indicator] = field(default_factory=dict)
    domains: dict[str, Indicator] = field(default_factory=dict)
    urls: dict[str, Indicator] = field(default_factory=dict)
    url_hosts: set[str] = field(default_factory=set)
    """Hosts of the URL indicators: the matcher normalises an event's URL only when its host is here."""
    hashes: dict[str, Indicator] = field(default_factory=dict)
    _ranges: list[tuple[int, int, Indicator]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    range_ind: list[Indicator] = field(default_factory=list)
    _pool: dict[str, str] = field(default_factory=dict)
    _dirty: bool = False

    def __len__(self) -> int:
        return len(self.ips) + len(self.domains) + len(self.urls) + len(self.hashes) + len(self._ranges)

    def counts(self) -> dict[str, int]:
        return {"ip": len(self.ips), "cidr": len(self._ranges), "domain": len(self.domains),
                "url": len(self.urls), "hash": len(self.hashes)}

    def add(self, ind: Indicator) -> None:
        """Add an indicator whose ``kind``/``value`` are already canonical (see ``normalise``)."""
        feed, tlp = _interned(ind.feed, self._pool), _interned(ind.tlp, self._pool)
        if feed is not ind.feed or tlp is not ind.tlp:  # share one string per feed/TLP across millions
            ind = ind._replace(feed=feed, tlp=tlp)
        k = ind.kind
        if k in ("ipv4", "ipv6"):
            key = ip_key(ind.value)
            if key is not None:
                self.ips[key] = ind
        elif k == "domain":
            self.domains[ind.value] = ind
        elif k == "url":
            self.urls[ind.value] = ind
            host = ind.value.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
            host = host.split("]", 1)[0].strip("[") if host.startswith("[") else host.split(":", 1)[0]
            self.url_hosts.add(host)
        elif k in ("md5", "sha1", "sha256"):
            self.hashes[ind.value] = ind
        elif k == "cidr":
            net, plen = ind.value.split("/")
            key = ip_key(net)
            if key is None:
                return
            bits = 128 if ":" in net and key >= V6_OFFSET else 32
            size = 1 << (bits - int(plen))
            self._ranges.append((key, key + size - 1, ind))
            self._dirty = True

    def add_value(self, kind: str, value: str, feed: str, tlp: str = "green", **kw: object) -> Indicator:
        k, v = norm.normalise(kind, value)
        ind = Indicator(k, v, feed, tlp, **kw)  # type: ignore[arg-type]
        self.add(ind)
        return ind

    def freeze(self) -> IndicatorIndex:
        """Build the range search structure after the last :meth:`add` of CIDRs."""
        if not self._dirty:
            return self
        # Sort by start, larger block first; equal blocks: the later one wins (newest feed value).
        rs = sorted(self._ranges, key=lambda r: (r[0], -r[1]))
        starts: list[int] = []
        ends: list[int] = []
        parents: list[int] = []
        inds: list[Indicator] = []
        stack: list[int] = []
        for s, e, ind in rs:
            if starts and starts[-1] == s and ends[-1] == e:
                inds[-1] = ind
                continue
            while stack and ends[stack[-1]] < s:
                stack.pop()
            parents.append(stack[-1] if stack else -1)
            starts.append(s)
            ends.append(e)
            inds.append(ind)
            stack.append(len(starts) - 1)
        self.starts, self.ends, self.parents, self.range_ind = starts, ends, parents, inds
        self._dirty = False
        return self

    # -- lookups (hot path) -------------------------------------------------------------------
    def match_ip(self, text: str) -> Indicator | None:
        key = ip_key(text)
        if key is None:
            return None
        hit = self.ips.get(key)
        if hit is not None or not self.starts:
            return hit
        i = bisect.bisect_right(self.starts, key) - 1
        while i >= 0:
            if key <= self.ends[i]:
                return self.range_ind[i]
            i = self.parents[i]
        return None

    def match_domain(self, name: str) -> tuple[Indicator, str] | None:
        """The indicator for ``name`` or its nearest listed parent domain, with the listed domain."""
        if not self.domains:
            return None
        d = name.lower().rstrip(".")
        get = self.domains.get
        while True:
            hit = get(d)
            if hit is not None:
                return hit, d
            dot = d.find(".")
            if dot < 0:
                return None
            d = d[dot + 1:]

    def match_url(self, url: str) -> Indicator | None:
        if not self.urls:
            return None
        hit = self.urls.get(url)
        if hit is not None:
            return hit
        try:
            return self.urls.get(norm.url(url))
        except ValueError:
            return None

    def match_hash(self, value: str) -> Indicator | None:
        if not self.hashes:
            return None
        return self.hashes.get(value) or self.hashes.get(value.lower())
