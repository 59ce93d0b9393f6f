"""What our own read-only TAXII 2.1 server publishes, and who may read which object.

Two collections:

- ``incidents``: the exported incident bundles, each object tagged with the agency it concerns and its TLP;
- ``indicators``: the indicators (with their observables) marked TLP:CLEAR or TLP:GREEN, for every reader.

Who sees what (TLP 2.0 semantics applied to our roles):

- ``admin``, ``analyst`` (the SOC itself): everything;
- ``auditor`` (also the account given to the national centre): everything except TLP:RED;
- ``agency`` officer: the objects of their own agency's incidents (RED included, they are its audience)
  and the CLEAR/GREEN indicators; never another agency's objects;
- ``rule_author``: the CLEAR/GREEN indicators.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from soc.auth import Principal
from soc.sharing import tlp as tlpmod
from soc.sharing.models import SharedObject
from soc.sharing.stix_export import NS

COLLECTIONS: dict[str, dict[str, str]] = {
    "incidents": {"id": str(uuid.uuid5(NS, "collection:incidents")), "title": "Incidents / Sự cố",
                  "description": "Incidents reported by the Hai Phong SOC, per agency and TLP. "
                                 "Sự cố do SOC Hải Phòng báo cáo, theo cơ quan và mức TLP."},
    "indicators": {"id": str(uuid.uuid5(NS, "collection:indicators")),
                   "title": "Indicators / Chỉ dấu tấn công (TLP:CLEAR/GREEN)",
                   "description": "Indicators seen in Hai Phong incidents, shareable within the community. "
                                  "Chỉ dấu tấn công ghi nhận trong các sự cố, được chia sẻ trong cộng đồng."},
}
COLLECTION_BY_ID = {v["id"]: k for k, v in COLLECTIONS.items()}
OPEN_TLP = ("clear", "green")
_INDICATOR_SIDE = {"indicator", "ipv4-addr", "ipv6-addr", "domain-name", "url", "file"}


def _version(obj: dict[str, Any], now: datetime) -> str:
    return str(obj.get("modified") or obj.get("created") or now.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def _add(s: Session, collection: str, obj: dict[str, Any], level: str, agency_id: str | None,
         incident_id: int | None, now: datetime) -> bool:
    ver = _version(obj, now)
    exists = s.execute(select(SharedObject.id).where(SharedObject.collection == collection,
                                                     SharedObject.stix_id == obj["id"],
                                                     SharedObject.version == ver)).first()
    if exists:
        return False
    s.add(SharedObject(collection=collection, stix_id=obj["id"], version=ver, type=obj.get("type", ""),
                       agency_id=agency_id, tlp=level, incident_id=incident_id, date_added=now, data=obj))
    return True


def publish_bundle(s: Session, bundle: dict[str, Any], *, incident_id: int | None, agency_id: str | None,
                   now: datetime | None = None) -> dict[str, int]:
    """Store a bundle's objects for our TAXII collections (idempotent per id and version).

    Every object goes to ``incidents`` tagged with the incident's agency, except the shared definitions
    (markings, extension definitions, the SOC's own identity), which belong to no agency. CLEAR/GREEN
    indicators, their observables and what they reference go to ``indicators`` as well.
    """
    now = now or datetime.now(UTC)
    added = {"incidents": 0, "indicators": 0}
    for obj in bundle.get("objects", []):
        t = obj.get("type")
        shared = t in ("marking-definition", "extension-definition") or (t == "identity"
                                                                         and not obj.get("created_by_ref"))
        level = "clear" if t == "marking-definition" else (
            tlpmod.level_of_refs(obj.get("object_marking_refs")) or "amber+strict")
        if _add(s, "incidents", obj, level, None if shared else agency_id, incident_id, now):
            added["incidents"] += 1
        if level in OPEN_TLP and (t in _INDICATOR_SIDE or shared) and t != "extension-definition" \
                and _add(s, "indicators", obj, level, None, None, now):
            added["indicators"] += 1
    s.flush()
    return added


def visibility(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``SharedObject`` for what ``principal`` may read."""
    role = principal.role
    open_ind = and_(SharedObject.collection == "indicators", SharedObject.tlp.in_(OPEN_TLP))
    if role in ("admin", "analyst"):
        return true()
    if role == "auditor":
        return SharedObject.tlp != "red"
    if role == "agency":
        if not principal.agency_id:
            return open_ind
        own = SharedObject.agency_id == principal.agency_id
        unattributed_open = and_(SharedObject.agency_id.is_(None), SharedObject.tlp.in_(OPEN_TLP))
        return or_(own, open_ind, unattributed_open)
    if role == "rule_author":
        return open_ind
    return false()


def collections_for(principal: Principal, s: Session) -> list[dict[str, Any]]:
    out = []
    for name, c in COLLECTIONS.items():
        if principal.role == "rule_author" and name != "indicators":
            continue
        out.append({"id": c["id"], "title": c["title"], "description": c["description"], "can_read": True,
                    "can_write": False, "media_types": ["application/stix+json;version=2.1"]})
    return out
