from __future__ import annotations

from pathlib import Path

import pytest

from soc.inventory import Inventory, InventoryError
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
