"""The asset inventory: agencies, their systems, security levels and the four protection layers' contacts.

Loaded from a YAML file (``inventory.yaml``, safe YAML), validated with
pydantic at load time. :meth:`Inventory.enrich` runs on every event on the hot
path, so an address lookup is one bisect over the pieces the ranges cut the
address line into, plus a small cache, not a scan.
"""

from __future__ import annotations

import bisect
import fnmatch
import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from soc.ecs import ipv4_int


class InventoryError(Exception):
    pass


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    email: EmailStr | None = None
    phone: str | None = None
    webhook: str | None = None
    language: str = "vi"


class Layer1(BaseModel):
    """On-site force of the agency: receives notices first and acknowledges them."""

    model_config = ConfigDict(extra="forbid")
    primary: Contact
    backup: Contact | None = None


class Layer3(BaseModel):
    """Independent periodic assessor."""

    model_config = ConfigDict(extra="forbid")
    organisation: str
    email: EmailStr | None = None
    last_assessment: str | None = None
    next_assessment: str | None = None


class Contacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer1: Layer1
    layer2: Contact | None = None
    layer3: Layer3 | None = None
    layer4: Contact | None = None


class System(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str
    level: int = Field(ge=1, le=5)
    """Security level 1-5 (Law on Network Information Security 2015, art. 21; Decree 85/2016)."""
    kind: str = "server"
    ip_ranges: list[str] = []
    hosts: list[str] = []
    """Host names; ``*`` wildcards allowed (``*.portal.haiphong.gov.vn``)."""
    public: bool = False
    description: str | None = None

    @field_validator("ip_ranges")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        for r in v:
            try:
                ipaddress.ip_network(r, strict=False)
            except ValueError:
                raise ValueError(f"{r!r} is not an IP address or CIDR range") from None
        return v


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str
    name_en: str | None = None
    address: str | None = None
    contacts: Contacts
    systems: list[System] = []


class InventoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    agencies: list[Agency] = []


_HOST_FIELDS = (("host", "name", "host.name"), ("host", "hostname", "host.hostname"),
                ("observer", "hostname", "observer.hostname"))
_IP_FIELDS = (("destination", "ip", "destination.ip"), ("source", "ip", "source.ip"), ("client", "ip", "client.ip"),
              ("host", "ip", "host.ip"))


class Inventory:
    """Lookup of the agency and system an event belongs to."""

    def __init__(self, model: InventoryModel) -> None:
        self.model = model
        self.agencies = {a.id: a for a in model.agencies}
        self._v4: list[tuple[int, int, int, Agency, System]] = []  # (start, end, -prefix) sorted
        self._v6: list[tuple[ipaddress.IPv6Network, Agency, System]] = []
        self._hosts: dict[str, tuple[Agency, System]] = {}
        self._host_patterns: list[tuple[str, Agency, System]] = []
        seen: dict[str, str] = {}
        for a in model.agencies:
            for s in a.systems:
                key = f"{a.id}/{s.id}"
                if key in seen:
                    raise InventoryError(f"system id {s.id!r} appears twice in agency {a.id!r}")
                seen[key] = key
                for r in s.ip_ranges:
                    net = ipaddress.ip_network(r, strict=False)
                    if isinstance(net, ipaddress.IPv4Network):
                        self._v4.append((int(net.network_address), int(net.broadcast_address), -net.prefixlen,
                                         a, s))
                    else:
                        self._v6.append((net, a, s))
                for h in s.hosts:
                    if any(c in h for c in "*?["):
                        self._host_patterns.append((h.lower(), a, s))
                    else:
                        self._hosts[h.lower()] = (a, s)
        # Most specific first for equal starts; lookups scan back over candidates that contain the address.
        self._v4.sort(key=lambda t: (t[0], t[2]))
        self._starts = [t[0] for t in self._v4]
        self._max_end: list[int] = []
        for t in self._v4:
            self._max_end.append(max(t[1], self._max_end[-1]) if self._max_end else t[1])
        # The address line cut at every range's start and end + 1: within one piece every address has the
        # same answer, so a lookup is one bisect. Each piece's answer comes from the scan (the definition).
        self._cuts = sorted({0, *(t[0] for t in self._v4), *(t[1] + 1 for t in self._v4 if t[1] < 2**32 - 1)})
        self._answers = [self._scan_v4(c) for c in self._cuts]
        self.lookup_ip = lru_cache(maxsize=65536)(self._lookup_ip)  # type: ignore[method-assign]
        self.lookup_host = lru_cache(maxsize=16384)(self._lookup_host)  # type: ignore[method-assign]

    @classmethod
    def load(cls, path: Path) -> Inventory:
        if not path.exists():
            raise InventoryError(f"{path}: inventory file not found; create it (see inventory.yaml in the repository)")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InventoryError(f"{path}: not valid YAML: {exc}") from None
        try:
            return cls(InventoryModel.model_validate(raw))
        except ValidationError as exc:
            lines = [f"{path}: {exc.error_count()} problem(s):"]
            for e in exc.errors():
                lines.append(f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
            raise InventoryError("\n".join(lines)) from None

    @classmethod
    def empty(cls) -> Inventory:
        return cls(InventoryModel())

    def _lookup_ip(self, ip: str) -> tuple[Agency, System] | None:
        n = ipv4_int(ip)
        if n is None:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                return None
            if isinstance(addr, ipaddress.IPv4Address):  # forms the fast path does not take
                n = int(addr)
            else:
                for net, a, s in self._v6:
                    if addr in net:
                        return a, s
                return None
        return self._answers[bisect.bisect_right(self._cuts, n) - 1]

    def _scan_v4(self, n: int) -> tuple[Agency, System] | None:
        """The most specific range holding address ``n`` (the first of equals in scan order), or None."""
        i = bisect.bisect_right(self._starts, n)
        best: tuple[int, Agency, System] | None = None
        for j in range(i - 1, -1, -1):
            if self._max_end[j] < n:  # no range at or before j reaches n
                break
            start, end, negp, a, s = self._v4[j]
            if start <= n <= end and (best is None or -negp > best[0]):
                best = (-negp, a, s)
        return (best[1], best[2]) if best else None

    def _lookup_host(self, host: str) -> tuple[Agency, System] | None:
        h = host.lower()
        hit = self._hosts.get(h) or self._hosts.get(h.split(".", 1)[0])
        if hit:
            return hit
        for pat, a, s in self._host_patterns:
            if fnmatch.fnmatchcase(h, pat):
                return a, s
        return None

    def enrich(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add ``soc.agency`` and ``soc.system`` to ``event`` in place; returns it.

        Host names first (``host.name``, ``host.hostname``, ``observer.hostname``), then addresses
        (``destination.ip``, ``source.ip``, ``client.ip``, ``host.ip``); the first hit wins. On the hot
        path: plain dict lookups, lookups cached.
        """
        if self._hosts or self._host_patterns:
            for top, leaf, field in _HOST_FIELDS:  # doc[top][leaf], else a literal dotted key (flat JSON)
                d = event.get(top)
                v = d.get(leaf) if d.__class__ is dict else None
                if v is None:
                    v = event.get(field)
                if v.__class__ is str and v:
                    hit = self.lookup_host(v)
                    if hit:
                        return self._apply(event, hit, field)
        if self._v4 or self._v6:
            for top, leaf, field in _IP_FIELDS:
                d = event.get(top)
                v = d.get(leaf) if d.__class__ is dict else None
                if v is None:
                    v = event.get(field)
                if isinstance(v, list):
                    v = v[0] if v else None
                if v.__class__ is str and v:
                    hit = self.lookup_ip(v)
                    if hit:
                        return self._apply(event, hit, field)
        return event

    @staticmethod
    def _apply(event: dict[str, Any], hit: tuple[Agency, System], field: str) -> dict[str, Any]:
        a, s = hit
        soc = event.setdefault("soc", {})
        if not isinstance(soc, dict):
            return event
        soc["agency"] = {"id": a.id, "name": a.name}
        soc["system"] = {"id": s.id, "name": s.name, "level": s.level, "kind": s.kind}
        soc.setdefault("asset", {})["match"] = field
        return event
