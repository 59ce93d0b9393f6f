from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soc.ecs import ipv4_int
from soc.inventory import Inventory, InventoryError, InventoryModel
from tests.core.fixtures import INVENTORY


@pytest.fixture
def inv(tmp_path: Path) -> Inventory:
    p = tmp_path / "inventory.yaml"
    p.write_text(INVENTORY, encoding="utf-8")
    return Inventory.load(p)


@pytest.mark.parametrize(("event", "agency", "system", "level"), [
    ({"source": {"ip": "10.1.1.7"}}, "a1", "portal", 3),
    ({"destination": {"ip": "203.0.113.10"}, "source": {"ip": "45.1.1.1"}}, "a1", "portal", 3),
    ({"source": {"ip": "10.1.2.5"}}, "a1", "db", 4),
    ({"source": {"ip": "10.1.2.200"}}, "a1", "db-admin", 5),  # most specific range wins
    ({"host": {"name": "PORTAL-WEB01"}}, "a1", "portal", 3),
    ({"host": {"name": "pg1.db.a1.local"}}, "a1", "db", 4),
    ({"source": {"ip": "2001:db8:2::42"}}, "a2", "ws", 2),
    ({"source": {"ip": "10.2.200.1"}, "destination": {"ip": "8.8.8.8"}}, "a2", "ws", 2),
])
def test_enrich(inv: Inventory, event: dict, agency: str, system: str, level: int) -> None:
    inv.enrich(event)
    assert event["soc"]["agency"]["id"] == agency
    assert event["soc"]["system"]["id"] == system
    assert event["soc"]["system"]["level"] == level


def test_unknown_address_left_unassigned(inv: Inventory) -> None:
    ev = {"source": {"ip": "8.8.8.8"}, "destination": {"ip": "not-an-ip"}}
    inv.enrich(ev)
    assert "soc" not in ev


@pytest.mark.parametrize(("text", "message"), [
    ("agencies: [{id: x, name: X, contacts: {layer1: {primary: {name: a, email: not-an-email}}}}]", "email"),
    ("agencies: [{id: x, name: X, contacts: {layer1: {primary: {name: a}}}, systems: [{id: s, name: S, level: 7}]}]",
     "less than or equal to 5"),
    ("agencies: [{id: x, name: X, contacts: {layer1: {primary: {name: a}}}, systems: [{id: s, name: S, level: 2, ip_ranges: [10.0.0.0/33]}]}]",
     "not an IP address"),
    ("agencies: [{id: x, name: X, colour: red, contacts: {layer1: {primary: {name: a}}}}]", "colour"),
    ("agencies: [ {", "not valid YAML"),
    ("!!python/object/apply:os.system ['echo hi']", "not valid YAML"),
])
def test_bad_inventory_is_rejected_clearly(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "inv.yaml"
    p.write_text(text)
    with pytest.raises(InventoryError) as err:
        Inventory.load(p)
    assert message in str(err.value)


def _reference(text: str) -> int | None:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None


_octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "256", "", "-1", "+1", "0x1",
                                                                 "١", "１", " 1", "1\x00", "\udc80", "1e2"]))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.lists(_octet, min_size=1, max_size=6).map(".".join), st.text(max_size=18)))
def test_ipv4_int_takes_exactly_what_ipaddress_takes(text: str) -> None:
    """The fast path of enrichment and ``network.direction`` must agree with ``ipaddress`` on every text."""
    assert ipv4_int(text) == _reference(text)


def test_ipv4_int_known_forms() -> None:
    assert ipv4_int("10.20.3.4") == 0x0A140304
    assert ipv4_int("255.255.255.255") == 2**32 - 1
    for bad in ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "1.2.3.4\n", "1.2.3.4\x00", "::1"]:
        assert ipv4_int(bad) is None, bad


_ranges = st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_ranges, st.lists(st.integers(0, 2**32 - 1), max_size=20), st.randoms(use_true_random=False))
def test_address_lookup_by_pieces_equals_the_scan(ranges: list[tuple[int, int]], extra: list[int],
                                                  rnd: Any) -> None:
    """Overlapping, nested, duplicated and adjacent ranges: the one-bisect lookup gives what the scan gives,
    at every range's edges and at random addresses."""
    systems = []
    for k, (addr, prefix) in enumerate(ranges):
        net = ipaddress.ip_network((addr, prefix), strict=False)
        systems.append({"id": f"s{k}", "name": f"S{k}", "level": 1 + k % 5, "ip_ranges": [str(net)]})
    inv = Inventory(InventoryModel.model_validate({"agencies": [{
        "id": "a", "name": "A", "contacts": {"layer1": {"primary": {"name": "on-site"}}}, "systems": systems}]}))
    probes = set(extra) | {0, 2**32 - 1}
    for start, end, *_ in inv._v4:
        probes |= {start, end, max(start - 1, 0), min(end + 1, 2**32 - 1), rnd.randint(start, end)}
    for n in probes:
        ip = str(ipaddress.IPv4Address(n))
        assert inv._lookup_ip(ip) == inv._scan_v4(n), ip
