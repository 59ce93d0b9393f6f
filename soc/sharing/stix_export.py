"""One STIX 2.1 bundle per incident, for the national centre (layer 4).

What the bundle holds:

- the reporting SOC's ``identity`` (and the affected agency's, if policy names it);
- the ``incident`` SDO with the OASIS Incident Core Extension
  (``extension-definition--ef765651-680c-498d-9894-99799f2fa126``) and the project's own
  extension for Vietnamese fields (security level, four-layer status, report deadlines), whose
  ``extension-definition`` object is included;
- ``indicator`` objects with STIX patterns for the attacker's IPs, domains, URLs and file hashes found
  in the incident's alerts, each with a ``sighting`` by the agency and the ``observed-data`` behind it;
- TLP 2.0 ``marking-definition`` objects and a marking on every other object.

Ids are UUIDv5 over stable inputs (incident ref, pattern), and timestamps come from the incident, so
exporting the same incident twice gives the same bundle and a TAXII server stores it once; a later
change to the incident gives a new ``modified`` version of the same objects.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detectors.indicators.normalise import url as normalise_url
from soc import ecs
from soc.config import SharingConfig
from soc.sharing import tlp
from soc.sharing.minimise import Minimiser, NetworkSet

NS = uuid.UUID("5f0c7a52-3b7e-5d4e-9a3c-6a1d2c9b7e10")
"""Namespace of the project's deterministic STIX ids."""
INCIDENT_CORE_EXT = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"
VN_EXT_ID = "extension-definition--" + str(uuid.UUID(bytes=uuid.uuid5(NS, "haiphong-soc/x-vn-incident/1.0").bytes,
                                                     version=4))
VN_EXT_CREATED = "2026-12-01T00:00:00.000Z"
# STIX 2.1 SCO namespace (spec section 2.9): SCO ids are UUIDv5 of their id-contributing properties.
SCO_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

HASH_KEYS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}
SEVERITY_CRITICALITY = {"low": 25, "medium": 50, "high": 75, "critical": 95}
# Project incident categories -> Incident Core ``incident_types`` (event-type open vocabulary).
CATEGORY_TYPES = {
    "brute_force": "brute-force-attempt", "bruteforce": "brute-force-attempt", "malware": "malware",
    "phishing": "phishing", "ddos": "denial-of-service", "dos": "denial-of-service",
    "web_attack": "exploitation-attempt", "exploit": "exploitation-attempt", "scan": "scanning",
    "scanning": "scanning", "defacement": "defacement", "ransomware": "ransomware",
    "data_leak": "data-breach", "intrusion": "unauthorized-access", "unauthorized_access": "unauthorized-access",
    "indicator": "indicator-match",
}

# Impact codes of the incidents area (Decision 05/2017 art. 8 list) -> Incident Core impact types.
IMPACT_TYPES = {"service_disruption": "availability", "secret_data_disclosure": "confidentiality",
                "personal_data_breach": "confidentiality", "integrity_loss": "integrity",
                "loss_of_control": "integrity", "wide_scale": "external", "national_security": "external"}


class ExportError(Exception):
    """The incident cannot be exported (unknown id, broken data); the message says what to fix."""


def sid(kind: str, *parts: str) -> str:
    """Deterministic id: UUIDv5 (SHA-1 of the namespace and ``parts``) stamped with version 4.

    STIX 2.1 asks for UUIDv4 ids on SDOs/SROs (validators warn otherwise); a name-based UUID in the
    v4 form keeps re-export idempotent while meeting that expectation.
    """
    u = uuid.uuid5(NS, "|".join((kind, *parts)))
    return f"{kind}--{uuid.UUID(bytes=u.bytes, version=4)}"


def sco_id(kind: str, contributing: dict[str, Any]) -> str:
    canon = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}--{uuid.uuid5(SCO_NS, canon)}"


def ts(dt: datetime | str | None) -> str:
    """STIX timestamp (UTC, millisecond precision, ``Z``)."""
    if dt is None:
        dt = datetime(1970, 1, 1, tzinfo=UTC)
    if isinstance(dt, str):
        try:
            dt = datetime.fromisoformat(dt.replace("Z", "+00:00"))
        except ValueError:
            dt = datetime(1970, 1, 1, tzinfo=UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def pattern_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_for(kind: str, value: str) -> str:
    if kind == "ipv4":
        return f"[ipv4-addr:value = {pattern_literal(value)}]"
    if kind == "ipv6":
        return f"[ipv6-addr:value = {pattern_literal(value)}]"
    if kind == "domain":
        return f"[domain-name:value = {pattern_literal(value)}]"
    if kind == "url":
        return f"[url:value = {pattern_literal(value)}]"
    if kind in HASH_KEYS:
        return f"[file:hashes.'{HASH_KEYS[kind]}' = {pattern_literal(value)}]"
    raise ValueError(f"no STIX pattern for indicator kind {kind!r}")


def sco_for(kind: str, value: str) -> dict[str, Any]:
    if kind in ("ipv4", "ipv6", "domain", "url"):
        t = {"ipv4": "ipv4-addr", "ipv6": "ipv6-addr", "domain": "domain-name", "url": "url"}[kind]
        return {"type": t, "spec_version": "2.1", "id": sco_id(t, {"value": value}), "value": value}
    hashes = {HASH_KEYS[kind]: value}
    return {"type": "file", "spec_version": "2.1", "id": sco_id("file", {"hashes": hashes}), "hashes": hashes}


@dataclass
class Observation:
    kind: str
    value: str
    first: str
    last: str
    count: int = 0
    fields: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)


@dataclass
class ExportPolicy:
    """The sharing settings that shape a bundle (from :class:`soc.config.SharingConfig`)."""

    organisation_name: str = "Hai Phong City SOC"
    organisation_email: str | None = None
    share_internal_addresses: bool = False
    share_user_names: bool = False
    share_agency_identity: bool = True
    incident_tlp: str = "amber+strict"
    confidential_tlp: str = "red"
    indicator_tlp: str = "green"
    internal_networks: Sequence[str] = ()
    own_domains: Sequence[str] = ()
    max_indicators: int = 500

    @classmethod
    def from_config(cls, cfg: SharingConfig) -> ExportPolicy:
        return cls(organisation_name=cfg.organisation_name, organisation_email=cfg.organisation_email,
                   share_internal_addresses=cfg.share_internal_addresses, share_user_names=cfg.share_user_names,
                   share_agency_identity=cfg.share_agency_identity, incident_tlp=tlp.normalise(cfg.incident_tlp),
                   confidential_tlp=tlp.normalise(cfg.confidential_tlp),
                   indicator_tlp=tlp.normalise(cfg.indicator_tlp), internal_networks=list(cfg.internal_networks),
                   own_domains=list(cfg.own_domains), max_indicators=cfg.max_indicators_per_incident)


@dataclass
class IncidentInput:
    """What the exporter reads from an incident (an ORM row or a plain dict give the same fields)."""

    id: int
    ref: str
    title: str
    category: str
    status: str
    severity: str
    serious: bool
    agency_id: str | None
    agency_name: str | None
    system_id: str | None
    system_name: str | None
    system_level: int | None
    t0: datetime
    first_seen: datetime
    last_seen: datetime
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    profile: str
    tactics: list[str]
    deadlines: dict[str, Any]
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any, agency_name: str | None = None, system_name: str | None = None) -> IncidentInput:
        data = dict(row.data or {})
        return cls(id=row.id, ref=row.ref, title=row.title, category=row.category, status=row.status,
                   severity=row.severity, serious=bool(row.serious), agency_id=row.agency_id,
                   agency_name=agency_name or (data.get("agency") or {}).get("name"),
                   system_id=row.system_id, system_name=system_name or (data.get("system") or {}).get("name"),
                   system_level=row.system_level, t0=row.t0, first_seen=row.first_seen, last_seen=row.last_seen,
                   created_at=row.created_at or row.t0, updated_at=row.updated_at or row.created_at or row.t0,
                   resolved_at=row.resolved_at, profile=row.profile or "", tactics=list(row.tactics or []),
                   deadlines=dict(row.deadlines or {}), data=data)

    @property
    def confidential(self) -> bool:
        """The Form 03 'keep confidential' flag.

        An explicit flag (``data.confidential`` / ``keep_confidential``, or the same under ``data.form03``)
        decides; without one, the rule the incidents area's Form 03 applies: a serious incident, or one
        that disclosed secret or personal data. The STIX marking then agrees with the form sent alongside.
        """
        d = self.data
        form: dict[str, Any] = d["form03"] if isinstance(d.get("form03"), dict) else {}
        for src in (d, form):
            for key in ("keep_confidential", "confidential"):
                if key in src and src[key] is not None:
                    return bool(src[key])
        raw = d.get("impacts")
        impacts: list[Any] = raw if isinstance(raw, list) else []
        return bool(self.serious or "secret_data_disclosure" in impacts or "personal_data_breach" in impacts)


def incident_tlp(inc: IncidentInput, policy: ExportPolicy) -> str:
    level = tlp.normalise(str(inc.data.get("tlp") or policy.incident_tlp))
    if inc.confidential:
        # 'Keep confidential' can only tighten: at least the confidential level, never looser than AMBER+STRICT.
        level = tlp.stricter(tlp.stricter(level, policy.confidential_tlp), "amber+strict")
    return level


def _is_own_domain(domain: str, own: Sequence[str]) -> bool:
    d = domain.lower().rstrip(".")
    return any(d == o or d.endswith("." + o) for o in own)


def _ip_kind(value: str) -> str | None:
    try:
        return "ipv4" if ipaddress.ip_address(value).version == 4 else "ipv6"
    except ValueError:
        return None


def collect_observations(alerts: Iterable[dict[str, Any]], policy: ExportPolicy,
                         minimiser: Minimiser) -> dict[tuple[str, str], Observation]:
    """Attacker-side values from the alerts' events: what the indicators and sightings are about.

    The asset side of each event (the field the inventory matched, ``soc.asset.match``) is the victim,
    not an indicator; nor are the city's own domains. Indicator alerts contribute their indicator.
    """
    out: dict[tuple[str, str], Observation] = {}

    def add(kind: str, value: str, when: str, fld: str, rule: str) -> None:
        key = (kind, value)
        ob = out.get(key)
        if ob is None:
            ob = out[key] = Observation(kind, value, when, when)
        ob.first = min(ob.first, when)
        ob.last = max(ob.last, when)
        ob.count += 1
        ob.fields.add(fld)
        ob.rules.add(rule)

    for alert in alerts:
        rule = str((alert.get("rule") or {}).get("name") or "")
        ind = (alert.get("match") or {}).get("indicator")
        events = alert.get("events") or []
        when_default = ts(alert.get("@timestamp"))
        if isinstance(ind, dict) and ind.get("kind") and ind.get("value"):
            kind, value = str(ind["kind"]), str(ind["value"])
            if kind in ("ipv4", "ipv6", "cidr") and not minimiser.ip_ok(value.split("/")[0]):
                pass
            elif kind != "cidr":
                add(kind, value, when_default, "indicator", rule)
        for ev in events:
            when = ts(ev.get("@timestamp")) if ev.get("@timestamp") else when_default
            asset_field = ecs.get(ev, "soc.asset.match")
            for f in ("source.ip", "destination.ip", "client.ip", "server.ip"):
                v = ecs.get(ev, f)
                if not isinstance(v, str) or f == asset_field:
                    continue
                ip_kind = _ip_kind(v)
                if ip_kind is None or not minimiser.ip_ok(v):
                    continue
                add(ip_kind, v, when, f, rule)
            for f in ("destination.domain", "dns.question.name", "url.domain"):
                v = ecs.get(ev, f)
                if isinstance(v, str) and v and f != asset_field and not _ip_kind(v) \
                        and not _is_own_domain(v, policy.own_domains):
                    add("domain", v.lower().rstrip("."), when, f, rule)
            for f in ("url.full", "url.original"):
                v = ecs.get(ev, f)
                dom = ecs.get(ev, "url.domain")
                if isinstance(v, str) and "://" in v and not (isinstance(dom, str)
                                                             and _is_own_domain(dom, policy.own_domains)):
                    # The url SCO must hold a valid URI: log values may carry raw spaces or backslashes.
                    with contextlib.suppress(ValueError):
                        add("url", normalise_url(v), when, f, rule)
                    break
            for base in ("file.hash", "process.hash", "dll.hash"):
                for algo in HASH_KEYS:
                    v = ecs.get(ev, f"{base}.{algo}")
                    if isinstance(v, str) and v:
                        add(algo, v.lower(), when, f"{base}.{algo}", rule)
    return out


def _marked(obj: dict[str, Any], level: str, created_by: str | None) -> dict[str, Any]:
    obj["object_marking_refs"] = [tlp.TLP_IDS[level]]
    if created_by and obj["type"] not in ("marking-definition",) and "spec_version" in obj \
            and obj["type"] not in _SCO_TYPES:
        obj.setdefault("created_by_ref", created_by)
    return obj


_SCO_TYPES = {"ipv4-addr", "ipv6-addr", "domain-name", "url", "file", "user-account"}


def vn_extension_definition(soc_identity: str) -> dict[str, Any]:
    schema = (
        "Property extension for incidents reported under Vietnamese rules (Hai Phong SOC). Properties: "
        "extension_type='property-extension'; security_level (integer 1-5, Decree 85/2016 / 331/2026); "
        "regulatory_profile (string, e.g. vn-2017, vn-2026); serious (boolean, 'serious incident'); "
        "impacts (list of Decision 05/2017 impact codes); "
        "discovered_at (timestamp, T0); report_deadlines (list of {kind, due, done}); "
        "four_layer_status (object with layer1..layer4, each {status, detail, at}); "
        "agency_id, system_id (strings, inventory keys); withheld (object: counts of values withheld by "
        "data minimisation). See docs/sharing.md of the project."
    )
    return {
        "type": "extension-definition", "spec_version": "2.1", "id": VN_EXT_ID,
        "created_by_ref": soc_identity, "created": VN_EXT_CREATED, "modified": VN_EXT_CREATED,
        "name": "Vietnam incident reporting (Hai Phong SOC)",
        "description": "Vietnamese regulatory fields of an incident: security level of the affected system, "
                       "four-layer protection status, report deadlines.",
        "schema": schema, "version": "1.0.0", "extension_types": ["property-extension"],
    }


def _layer_status(inc: IncidentInput) -> dict[str, Any]:
    layers = inc.data.get("layers") or inc.data.get("four_layer") or {}
    out: dict[str, Any] = {}
    if isinstance(layers, dict):
        for k in ("layer1", "layer2", "layer3", "layer4"):
            v = layers.get(k)
            if isinstance(v, dict):
                out[k] = {kk: vv for kk, vv in v.items() if kk in ("status", "detail", "at")
                          and isinstance(vv, str | int | bool)}
            elif isinstance(v, str):
                out[k] = {"status": v}
    return out


def _deadlines(inc: IncidentInput) -> list[dict[str, Any]]:
    out = []
    for kind, v in sorted(inc.deadlines.items()):
        if isinstance(v, dict):  # the incidents area's form: {label_vi, label_en, due, anchor, met_at}
            due = v.get("due") or v.get("at")
            met = v.get("met_at") or v.get("done_at")
            entry: dict[str, Any] = {"kind": str(kind)}
            if v.get("label_en"):
                entry["label"] = str(v["label_en"])[:200]
            if due:
                entry["due"] = ts(due)
            entry["done"] = bool(met or v.get("done") or v.get("met"))
            if met:
                entry["done_at"] = ts(met)
            out.append(entry)
        elif isinstance(v, str):
            out.append({"kind": str(kind), "due": ts(v)})
    return out


def _investigation_status(status: str) -> str:
    s = status.lower()
    if s == "new":
        return "new"
    if s in ("closed", "resolved", "false_positive", "done"):
        return "closed"
    return "open"


def _determination(inc: IncidentInput) -> str:
    d = inc.data.get("determination")
    if isinstance(d, str) and d in ("blocked", "confirmed", "failed", "false-positive", "suspected"):
        return d
    if inc.status.lower() in ("false_positive", "false-positive"):
        return "false-positive"
    if inc.data.get("verdict") == "true_positive" or inc.data.get("confirmed"):
        return "confirmed"
    return "suspected"


def build_bundle(inc: IncidentInput, alerts: Sequence[dict[str, Any]], policy: ExportPolicy,
                 layer4: dict[str, Any] | None = None, *, modified: str | None = None) -> dict[str, Any]:
    """The incident as a STIX 2.1 bundle (a plain dict, JSON-serialisable, deterministic).

    ``modified``: the incident object's version; default its ``updated_at``.
    """
    minimiser = Minimiser(NetworkSet.of(policy.internal_networks), policy.share_internal_addresses,
                          policy.share_user_names)
    inc_level = incident_tlp(inc, policy)
    # Indicators never travel looser than the incident when it is confidential.
    ind_level = tlp.stricter(policy.indicator_tlp, inc_level) if inc.confidential else policy.indicator_tlp
    created = ts(inc.created_at)
    modified = modified or ts(max(inc.updated_at, inc.created_at))

    soc_ident: dict[str, Any] = {"type": "identity", "spec_version": "2.1", "id": sid("identity", "soc", policy.organisation_name),
                 "created": VN_EXT_CREATED, "modified": VN_EXT_CREATED, "name": policy.organisation_name,
                 "identity_class": "organization", "sectors": ["government-local"]}
    if policy.organisation_email:
        soc_ident["contact_information"] = policy.organisation_email
    soc_id: str = soc_ident["id"]
    objects: list[dict[str, Any]] = [_marked(soc_ident, "green", None)]

    where_sighted = soc_id
    if inc.agency_id:
        if policy.share_agency_identity:
            ag: dict[str, Any] = {"type": "identity", "spec_version": "2.1", "id": sid("identity", "agency", inc.agency_id),
                  "created": created, "modified": created, "name": inc.agency_name or inc.agency_id,
                  "identity_class": "organization", "sectors": ["government-local"],
                  "created_by_ref": soc_id}
        else:
            ag = {"type": "identity", "spec_version": "2.1", "id": sid("identity", "agency-anon", inc.ref),
                  "created": created, "modified": created, "name": "Hai Phong city agency",
                  "identity_class": "organization", "sectors": ["government-local"], "created_by_ref": soc_id}
        objects.append(_marked(ag, inc_level, soc_id))
        where_sighted = ag["id"]

    ext_def = vn_extension_definition(soc_id)
    objects.append(_marked(ext_def, "clear", soc_id))

    observations = collect_observations(alerts, policy, minimiser)
    ordered = sorted(observations.values(), key=lambda o: (-o.count, o.kind, o.value))[: policy.max_indicators]
    other_refs: list[str] = []
    for ob in sorted(ordered, key=lambda o: (o.kind, o.value)):
        pattern = pattern_for(ob.kind, ob.value)
        ind_id = sid("indicator", inc.ref, pattern)
        kind_label = {"ipv4": "IP address", "ipv6": "IP address", "domain": "domain", "url": "URL"}.get(
            ob.kind, f"{ob.kind.upper()} file hash")
        indicator: dict[str, Any] = {
            "type": "indicator", "spec_version": "2.1", "id": ind_id, "created": ob.first, "modified": ob.first,
            "name": f"{kind_label} {ob.value}",
            "description": f"Seen in incident {inc.ref} ({', '.join(sorted(ob.rules))[:500]})",
            "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
            "pattern_version": "2.1", "valid_from": ob.first,
        }
        sco = sco_for(ob.kind, ob.value)
        od: dict[str, Any] = {"type": "observed-data", "spec_version": "2.1", "id": sid("observed-data", inc.ref, pattern),
              "created": ob.first, "modified": ob.last, "first_observed": ob.first, "last_observed": ob.last,
              "number_observed": max(ob.count, 1), "object_refs": [sco["id"]]}
        sighting: dict[str, Any] = {"type": "sighting", "spec_version": "2.1", "id": sid("sighting", inc.ref, pattern),
                    "created": ob.first, "modified": ob.last, "first_seen": ob.first, "last_seen": ob.last,
                    "count": max(ob.count, 1), "sighting_of_ref": ind_id, "observed_data_refs": [od["id"]],
                    "where_sighted_refs": [where_sighted]}
        objects += [_marked(indicator, ind_level, soc_id), _marked(sco, ind_level, None),
                    _marked(od, inc_level, soc_id), _marked(sighting, inc_level, soc_id)]
        other_refs += [ind_id, od["id"], sighting["id"]]

    attacker_acts = []
    for a in alerts:
        r = a.get("rule") or {}
        evs = a.get("events") or []
        start = ts(evs[0].get("@timestamp")) if evs and evs[0].get("@timestamp") else ts(a.get("@timestamp"))
        attacker_acts.append({"description": str(r.get("name") or r.get("id") or "alert")[:300],
                              "start_time": start, "outcome": "unknown"})
    attacker_acts.sort(key=lambda x: (x["start_time"], x["description"]))
    dedup: list[dict[str, Any]] = []
    for act in attacker_acts:
        if not dedup or dedup[-1] != act:
            dedup.append(act)
    defender_acts = [{"action_type": "detected", "start_time": ts(inc.t0), "outcome": "successful",
                      "is_projection": False, "description": "Detected by the city SOC (T0)"}]
    if inc.resolved_at:
        defender_acts.append({"action_type": "resolved", "start_time": ts(inc.resolved_at), "outcome": "successful",
                              "is_projection": False, "description": "Response finished"})
    core: dict[str, Any] = {
        "extension_type": "property-extension",
        "determination": _determination(inc),
        "investigation_status": _investigation_status(inc.status),
        "criticality": SEVERITY_CRITICALITY.get(inc.severity.lower(), 50),
        "detection_methods": ["automated-tool"],
        "incident_types": sorted({CATEGORY_TYPES.get(inc.category, inc.category.replace("_", "-"))}
                                 | {t.replace("_", "-") for t in inc.tactics}),
        "first_seen": ts(inc.first_seen), "last_seen": ts(inc.last_seen),
        "attacker_activities": dedup[:200],
        "defender_activities": defender_acts,
    }
    impacts = [i for i in inc.data.get("impacts") or [] if isinstance(i, str)] \
        if isinstance(inc.data.get("impacts"), list) else []
    if impacts:
        core["impacts"] = [{"impact_type": IMPACT_TYPES.get(i, "external"), "description": i,
                            "criticality": core["criticality"], "start_time": ts(inc.first_seen)}
                           for i in sorted(set(impacts))]
    if other_refs:
        core["other_object_refs"] = other_refs
    status = _layer_status(inc)
    if layer4:
        status["layer4"] = {k: v for k, v in layer4.items() if k in ("status", "detail", "at")}
    vn: dict[str, Any] = {"extension_type": "property-extension", "serious": inc.serious,
                          "discovered_at": ts(inc.t0), "regulatory_profile": inc.profile or "unspecified"}
    if inc.system_level is not None:
        vn["security_level"] = int(inc.system_level)
    if inc.agency_id and policy.share_agency_identity:
        vn["agency_id"] = inc.agency_id
    if inc.system_id and policy.share_agency_identity:
        vn["system_id"] = inc.system_id
    if impacts:
        vn["impacts"] = sorted(set(impacts))
    dl = _deadlines(inc)
    if dl:
        vn["report_deadlines"] = dl
    if status:
        vn["four_layer_status"] = status
    if minimiser.withheld:
        vn["withheld"] = dict(sorted(minimiser.withheld.items()))
    desc = f"{inc.title} (severity {inc.severity}"
    if inc.system_level is not None:
        desc += f", system security level {inc.system_level}"
    desc += ")"
    if minimiser.withheld:
        desc += "; withheld by policy: " + ", ".join(f"{n} {k.replace('_', ' ')}(s)"
                                                      for k, n in sorted(minimiser.withheld.items()))
    incident = {
        "type": "incident", "spec_version": "2.1", "id": sid("incident", inc.ref), "created": created,
        "modified": modified, "name": f"{inc.ref}: {inc.title}"[:250], "description": desc,
        "external_references": [{"source_name": "haiphong-soc", "external_id": inc.ref}],
        "extensions": {INCIDENT_CORE_EXT: core, VN_EXT_ID: vn},
    }
    if inc.tactics:
        incident["labels"] = sorted(t.replace("_", "-") for t in inc.tactics)
    objects.append(_marked(incident, inc_level, soc_id))
    levels = {tlp.level_of_refs(o.get("object_marking_refs")) for o in objects} - {None}
    markings = [tlp.marking_definition(lv) for lv in sorted(levels, key=lambda x: tlp.TLP_RANK[str(x)])
                if lv is not None]
    return {"type": "bundle", "id": sid("bundle", inc.ref, modified), "objects": markings + objects}


def bundle_tlp(bundle: dict[str, Any]) -> str:
    """The incident's TLP level in a bundle built here."""
    for o in bundle.get("objects", []):
        if o.get("type") == "incident":
            return tlp.level_of_refs(o.get("object_marking_refs")) or "amber+strict"
    return "amber+strict"


def load_incident(session: Any, incident_id: int, inventory: Any = None) -> tuple[IncidentInput, list[dict[str, Any]]]:
    """Read an incident and its alerts' detector dicts from the state database."""
    from sqlalchemy import select

    from soc.storage.models import Alert, Incident

    row = session.get(Incident, incident_id)
    if row is None:
        raise ExportError(f"incident {incident_id} not found; list incidents with `soc incidents list`")
    agency_name = system_name = None
    if inventory is not None and row.agency_id:
        ag = getattr(inventory, "agencies", {}).get(row.agency_id)
        if ag is not None:
            agency_name = ag.name
            for s in ag.systems:
                if s.id == row.system_id:
                    system_name = s.name
    alerts = [a.data or {} for a in session.execute(
        select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.ts, Alert.id)).scalars()]
    inc = IncidentInput.from_row(row, agency_name, system_name)
    layers = notice_layers(session, incident_id)
    if layers and not inc.data.get("layers"):
        inc.data["layers"] = layers
    return inc, alerts


def notice_layers(session: Any, incident_id: int) -> dict[str, Any]:
    """Layers 1-3 status from the incidents area's notices: acknowledged, notified or escalated, with the time."""
    try:
        from sqlalchemy import select

        from soc.incidents.models import Notice
    except ImportError:
        return {}
    out: dict[str, Any] = {}
    for n in session.execute(select(Notice).where(Notice.incident_id == incident_id)
                             .order_by(Notice.created_at, Notice.id)).scalars():
        key = f"layer{n.layer}"
        if n.acked_at is not None:
            cur = out.get(key)
            if cur is None or cur["status"] != "acknowledged" or ts(n.acked_at) < cur["at"]:
                out[key] = {"status": "acknowledged", "at": ts(n.acked_at)}
        elif key not in out:
            out[key] = {"status": "escalated" if getattr(n, "escalated_at", None) else "notified",
                        "at": ts(n.created_at)}
    return out


def _without_modified(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "modified"}


def stable_bundle(session: Any, inc: IncidentInput, alerts: Sequence[dict[str, Any]],
                  policy: ExportPolicy) -> dict[str, Any]:
    """:func:`build_bundle`, keeping the last published version when the shared content has not changed.

    The incident row's ``updated_at`` moves for changes that are not shared (comments, notices, layer-4
    status); re-exporting then must not make a new STIX version, or every push would beget another.
    """
    from sqlalchemy import select

    from soc.sharing.models import SharedObject

    bundle = build_bundle(inc, alerts, policy)
    inc_obj = next(o for o in bundle["objects"] if o["type"] == "incident")
    prev = session.execute(select(SharedObject.data).where(SharedObject.collection == "incidents",
                                                           SharedObject.stix_id == inc_obj["id"])
                           .order_by(SharedObject.version.desc()).limit(1)).scalar()
    if isinstance(prev, dict) and prev.get("modified") != inc_obj["modified"] \
            and _without_modified(prev) == _without_modified(inc_obj):
        bundle = build_bundle(inc, alerts, policy, modified=str(prev["modified"]))
    return bundle


def export_incident(session: Any, incident_id: int, cfg: SharingConfig, inventory: Any = None) -> dict[str, Any]:
    """The incident's bundle as it would be shared now (see :func:`stable_bundle`)."""
    inc, alerts = load_incident(session, incident_id, inventory)
    return stable_bundle(session, inc, alerts, ExportPolicy.from_config(cfg))
