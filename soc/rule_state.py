"""Which Sigma rules an admin switched off: kept in the state database so it survives restarts.

The engine itself keeps enable/disable across rule reloads; this module makes the
choice durable and applies it to a freshly built engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from soc.storage.models import KeyValue
from soc.storage.state import State

DISABLED_KEY = "rules:disabled"


def disabled_ids(state: State) -> set[str]:
    with state.session() as s:
        row = s.get(KeyValue, DISABLED_KEY)
        return set((row.value if row else {}).get("ids", []))


def set_disabled(s: Session, rule_id: str, enabled: bool) -> None:
    row = s.get(KeyValue, DISABLED_KEY)
    ids = set((row.value if row else {}).get("ids", []))
    (ids.discard if enabled else ids.add)(rule_id)
    if row is None:
        s.add(KeyValue(key=DISABLED_KEY, value={"ids": sorted(ids)}))
    else:
        row.value = {"ids": sorted(ids)}


def apply_disabled(state: State, engine: Any) -> None:
    """Switch off, in a newly built engine, every rule stored as disabled."""
    for rid in disabled_ids(state):
        engine.set_enabled(rid, False)
