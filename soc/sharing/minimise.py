"""Data minimisation: what may leave the city.

Internal addresses (RFC 1918 and the other non-routable ranges in ``sharing.internal_networks``) and
user names are withheld from anything sent outside unless the sharing policy allows them
(``share_internal_addresses``, ``share_user_names``). Withheld values are counted, not silently lost,
so that the exported incident says how much it omits.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class NetworkSet:
    """Membership test for a set of CIDR ranges by bisect over sorted, merged integer ranges."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, cidrs: Iterable[str]) -> NetworkSet:
        ranges: list[tuple[int, int]] = []
        for c in cidrs:
            n = ipaddress.ip_network(c, strict=False)
            # v6 keys sit above the whole v4 space so that one sorted list holds both families.
            base = int(n.network_address) + (0 if n.version == 4 else (1 << 33))
            ranges.append((base, base + n.num_addresses - 1))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for s, e in ranges:
            if merged and s <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return cls([s for s, _ in merged], [e for _, e in merged])

    def __contains__(self, ip: object) -> bool:
        try:
            addr = ipaddress.ip_address(str(ip))
        except ValueError:
            return False
        if addr.version == 6 and addr.ipv4_mapped is not None:  # type: ignore[union-attr]
            addr = addr.ipv4_mapped  # type: ignore[union-attr]
        key = int(addr) + (0 if addr.version == 4 else (1 << 33))
        i = bisect.bisect_right(self.starts, key) - 1
        return i >= 0 and key <= self.ends[i]


DEFAULT_INTERNAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                    "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"]


@dataclass
class Minimiser:
    """Applies the sharing policy to values on their way out and counts what it withheld."""

    internal: NetworkSet
    share_internal_addresses: bool = False
    share_user_names: bool = False
    withheld: dict[str, int] = field(default_factory=dict)

    def is_internal(self, ip: str) -> bool:
        return ip in self.internal

    def ip_ok(self, ip: str) -> bool:
        if self.share_internal_addresses or not self.is_internal(ip):
            return True
        self.withheld["internal_address"] = self.withheld.get("internal_address", 0) + 1
        return False

    def user_ok(self, name: str) -> bool:
        if self.share_user_names:
            return True
        self.withheld["user_name"] = self.withheld.get("user_name", 0) + 1
        return False
