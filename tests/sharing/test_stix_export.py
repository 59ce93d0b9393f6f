"""STIX 2.1 export of incidents: validity, determinism, TLP, data minimisation, extensions."""

from __future__ import annotations

import json

import pytest
import stix2
from stix2validator import ValidationOptions, validate_string

from soc.sharing import tlp
from soc.sharing.stix_export import (
    INCIDENT_CORE_EXT,
    VN_EXT_ID,
    ExportPolicy,
    build_bundle,
    export_incident,
    load_incident,
)
from tests.sharing.conftest import make_incident, web_event


def _valid(bundle: dict) -> None:
    text = json.dumps(bundle)
    res = validate_string(text, ValidationOptions(strict=False))
    assert res.is_valid, [str(e) for e in res.errors]
    assert not res.warnings, [str(w) for w in res.warnings]
    stix2.parse(text)  # strict parse: no custom objects or properties outside extensions


def _by_type(bundle: dict, t: str) -> list[dict]:
    return [o for o in bundle["objects"] if o["type"] == t]


def test_bundle_is_valid_and_complete(state, settings):
    ev = web_event("203.0.113.45", url__full="http://evil-cdn.example.net/payload.exe",
                   url__domain="evil-cdn.example.net", file__hash__sha256="ab" * 32)
    iid = make_incident(state, events=[ev])
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    _valid(bundle)
    inc = _by_type(bundle, "incident")[0]
    core = inc["extensions"][INCIDENT_CORE_EXT]
    assert core["determination"] == "suspected" and core["investigation_status"] == "open"
    assert core["criticality"] == 75 and "brute-force-attempt" in core["incident_types"]
    assert core["attacker_activities"][0]["description"] == "Web brute force"
    vn = inc["extensions"][VN_EXT_ID]
    assert vn["security_level"] == 4 and vn["serious"] is False and vn["regulatory_profile"] == "vn-2026"
    assert vn["report_deadlines"][0]["kind"] == "initial_notice"
    ext_defs = _by_type(bundle, "extension-definition")
    assert [d["id"] for d in ext_defs] == [VN_EXT_ID]
    patterns = sorted(i["pattern"] for i in _by_type(bundle, "indicator"))
    assert patterns == ["[domain-name:value = 'evil-cdn.example.net']",
                        f"[file:hashes.'SHA-256' = '{'ab' * 32}']",
                        "[ipv4-addr:value = '203.0.113.45']",
                        "[url:value = 'http://evil-cdn.example.net/payload.exe']"]
    # Each indicator is sighted at the agency, with the observed data behind it.
    agency = [i for i in _by_type(bundle, "identity") if i["name"] == "so-tttt"]
    assert agency, "agency identity named per policy"
    for sg in _by_type(bundle, "sighting"):
        assert sg["where_sighted_refs"] == [agency[0]["id"]]
        assert sg["observed_data_refs"][0] in {o["id"] for o in _by_type(bundle, "observed-data")}


def test_export_is_deterministic_and_versions_on_change(state, settings):
    iid = make_incident(state)
    with state.session() as s:
        a = export_incident(s, iid, settings.sharing)
        b = export_incident(s, iid, settings.sharing)
    assert a == b
    from datetime import timedelta

    from soc.storage.models import Incident

    with state.session() as s:
        row = s.get(Incident, iid)
        row.status = "closed"
        row.updated_at = row.updated_at + timedelta(hours=2)
    with state.session() as s:
        c = export_incident(s, iid, settings.sharing)
    inc_a, inc_c = _by_type(a, "incident")[0], _by_type(c, "incident")[0]
    assert inc_a["id"] == inc_c["id"] and inc_c["modified"] > inc_a["modified"]
    assert inc_c["extensions"][INCIDENT_CORE_EXT]["investigation_status"] == "closed"
    assert a["id"] != c["id"]
    _valid(c)


def test_tlp_on_every_object_and_defaults(state, settings):
    iid = make_incident(state)
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    marking_ids = {o["id"] for o in _by_type(bundle, "marking-definition")}
    for o in bundle["objects"]:
        if o["type"] != "marking-definition":
            assert o["object_marking_refs"], o["id"]
            assert set(o["object_marking_refs"]) <= marking_ids
    assert _by_type(bundle, "incident")[0]["object_marking_refs"] == [tlp.TLP_IDS["amber+strict"]]
    assert all(i["object_marking_refs"] == [tlp.TLP_IDS["green"]] for i in _by_type(bundle, "indicator"))
    for md in _by_type(bundle, "marking-definition"):
        ext = md["extensions"][tlp.TLP_EXTENSION_ID]
        assert md["id"] == tlp.TLP_IDS[ext["tlp_2_0"]]


def test_keep_confidential_forces_red(state, settings):
    iid = make_incident(state, data={"form03": {"keep_confidential": True}})
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    _valid(bundle)
    assert _by_type(bundle, "incident")[0]["object_marking_refs"] == [tlp.TLP_IDS["red"]]
    # Confidential incidents do not leak their indicators at GREEN either.
    assert all(i["object_marking_refs"] == [tlp.TLP_IDS["red"]] for i in _by_type(bundle, "indicator"))
    settings.sharing.confidential_tlp = "amber"  # policy looser than allowed: still at least AMBER+STRICT
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    assert _by_type(bundle, "incident")[0]["object_marking_refs"] == [tlp.TLP_IDS["amber+strict"]]


def test_serious_or_sensitive_incidents_are_confidential_unless_flagged(state, settings):
    """Same rule as the Form 03 of the incidents area: serious, or secret/personal data disclosed."""
    iid = make_incident(state, ref="HP-S", serious=True,
                        data={"impacts": ["service_disruption", "secret_data_disclosure"]})
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    _valid(bundle)
    inc = _by_type(bundle, "incident")[0]
    assert inc["object_marking_refs"] == [tlp.TLP_IDS["red"]]
    assert inc["extensions"][VN_EXT_ID]["serious"] is True
    assert inc["extensions"][VN_EXT_ID]["impacts"] == ["secret_data_disclosure", "service_disruption"]
    assert [i["impact_type"] for i in inc["extensions"][INCIDENT_CORE_EXT]["impacts"]] == [
        "confidentiality", "availability"]
    iid = make_incident(state, ref="HP-P", data={"impacts": ["personal_data_breach"]})
    iid2 = make_incident(state, ref="HP-X", serious=True, data={"form03": {"keep_confidential": False}})
    with state.session() as s:
        b1 = export_incident(s, iid, settings.sharing)
        b2 = export_incident(s, iid2, settings.sharing)
    assert _by_type(b1, "incident")[0]["object_marking_refs"] == [tlp.TLP_IDS["red"]]
    assert _by_type(b2, "incident")[0]["object_marking_refs"] == [tlp.TLP_IDS["amber+strict"]], "explicit flag wins"


def test_internal_addresses_and_user_names_stay_home(state, settings):
    evs = [web_event("10.9.8.7", dst="10.20.0.5", user="tranthib"),  # internal attacker: lateral movement
           web_event("198.51.100.23", dst="10.20.0.5", user="tranthib")]
    iid = make_incident(state, events=evs)
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    text = json.dumps(bundle, ensure_ascii=False)
    assert "10.9.8.7" not in text and "10.20.0.5" not in text
    assert "tranthib" not in text and "nguyenvana" not in text
    assert "198.51.100.23" in text
    vn = _by_type(bundle, "incident")[0]["extensions"][VN_EXT_ID]
    assert vn["withheld"] == {"internal_address": 1}
    settings.sharing.share_internal_addresses = True
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    text = json.dumps(bundle)
    assert "10.9.8.7" in text
    assert "10.20.0.5" not in text, "the asset side (victim) is never an indicator"


def test_own_domains_and_anonymous_agency(state, settings):
    ev = web_event("203.0.113.9", url__full="https://portal.haiphong.gov.vn/login", url__domain="portal.haiphong.gov.vn")
    iid = make_incident(state, events=[ev])
    settings.sharing.share_agency_identity = False
    with state.session() as s:
        inc, alerts = load_incident(s, iid)
    bundle = build_bundle(inc, alerts, ExportPolicy.from_config(settings.sharing))
    _valid(bundle)
    text = json.dumps(bundle, ensure_ascii=False)
    assert "haiphong.gov.vn/login" not in text and "portal.haiphong.gov.vn" not in text
    assert "so-tttt" not in text and "Hai Phong city agency" in text


def test_indicator_alerts_contribute_their_indicator(state, settings):
    ev = web_event("203.0.113.77", user=None)
    match = {"indicator": {"kind": "domain", "value": "c2.bad.example", "feed": "ncsc", "tlp": "green"}}
    iid = make_incident(state, events=[ev], kind="indicator", match=match, rule="Threat-intelligence match")
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    assert "[domain-name:value = 'c2.bad.example']" in {i["pattern"] for i in _by_type(bundle, "indicator")}
    _valid(bundle)


def test_pattern_literals_are_escaped(state, settings):
    ev = web_event("203.0.113.5", url__full="http://x.example.org/a'b\\c", url__domain="x.example.org")
    iid = make_incident(state, events=[ev])
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    _valid(bundle)
    urls = [i["pattern"] for i in _by_type(bundle, "indicator") if i["pattern"].startswith("[url")]
    assert urls == ["[url:value = 'http://x.example.org/a\\'b%5Cc']"]


def test_four_layer_status_from_notices(state, settings):
    models = pytest.importorskip("soc.incidents.models")
    from datetime import timedelta

    from tests.sharing.conftest import T0

    iid = make_incident(state)
    with state.session() as s:
        s.add(models.Notice(incident_id=iid, agency_id="so-tttt", layer=1, recipient="it@so-tttt.gov.vn",
                            nonce="n1", created_at=T0, acked_at=T0 + timedelta(minutes=20), acked_by="it"))
        s.add(models.Notice(incident_id=iid, agency_id="so-tttt", layer=3, recipient="assessor", nonce="n3",
                            created_at=T0 + timedelta(minutes=1)))
    with state.session() as s:
        bundle = export_incident(s, iid, settings.sharing)
    _valid(bundle)
    layers = _by_type(bundle, "incident")[0]["extensions"][VN_EXT_ID]["four_layer_status"]
    assert layers == {"layer1": {"status": "acknowledged", "at": "2026-11-30T08:35:00.000Z"},
                      "layer3": {"status": "notified", "at": "2026-11-30T08:16:00.000Z"}}
