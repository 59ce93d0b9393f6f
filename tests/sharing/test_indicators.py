"""Threat intelligence in: index lookups, the matcher, the store, and feeds (STIX/TAXII, CSV, MISP)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from detectors.indicators import IndicatorIndex, IndicatorMatcher, IndicatorStore
from detectors.indicators.feeds import FeedConfig, pattern_values, pull_feed
from detectors.indicators.index import Indicator
from detectors.indicators.normalise import url as norm_url
from detectors.indicators.scheduler import IntelScheduler
from detectors.indicators.store import IndicatorInput
from tests.sharing.conftest import COLLECTIONS


def _val(ind: Indicator | None) -> str | None:
    return ind.value if ind is not None else None


def _ix(*items: tuple[str, str], **kw) -> IndicatorIndex:
    ix = IndicatorIndex()
    for kind, value in items:
        ix.add_value(kind, value, kw.get("feed", "test"), kw.get("tlp", "green"))
    return ix.freeze()


def test_ip_exact_and_cidr_v4_v6():
    ix = _ix(("ip", "198.51.100.7"), ("cidr", "203.0.113.0/24"), ("cidr", "203.0.113.128/25"),
             ("cidr", "192.0.2.0/28"), ("ip", "2001:DB8::dead"), ("cidr", "2001:db8:ff00::/40"))
    assert _val(ix.match_ip("198.51.100.7")) == "198.51.100.7"
    assert _val(ix.match_ip("::ffff:198.51.100.7")) == "198.51.100.7"
    assert _val(ix.match_ip("203.0.113.200")) == "203.0.113.128/25"  # innermost block
    assert _val(ix.match_ip("203.0.113.5")) == "203.0.113.0/24"
    assert _val(ix.match_ip("192.0.2.15")) == "192.0.2.0/28"
    assert ix.match_ip("192.0.2.16") is None and ix.match_ip("198.51.100.8") is None
    assert _val(ix.match_ip("2001:db8:0:0::DEAD")) == "2001:db8::dead"
    assert _val(ix.match_ip("2001:db8:ff12::1")) == "2001:db8:ff00::/40"
    assert ix.match_ip("2001:db8:1::1") is None
    assert ix.match_ip("not-an-ip") is None and ix.match_ip("") is None


def test_cidr_nesting_against_brute_force():
    """Random nested and disjoint blocks: bisect + parent pointers give the innermost containing block."""
    import ipaddress
    import random

    rnd = random.Random(7)
    nets = set()
    for _ in range(300):
        plen = rnd.choice([8, 12, 16, 20, 24, 28])
        nets.add(ipaddress.ip_network((rnd.getrandbits(32) & (0xFFFFFFFF << (32 - plen)), plen)))
    ix = IndicatorIndex()
    for n in nets:
        ix.add_value("cidr", str(n), "t")
    ix.freeze()
    for _ in range(3000):
        a = ipaddress.ip_address(rnd.getrandbits(32))
        if rnd.random() < 0.7:  # aim inside some block
            n = rnd.choice(sorted(nets, key=str))
            a = n[rnd.randrange(n.num_addresses)]
        containing = [n for n in nets if a in n]
        want = max(containing, key=lambda n: n.prefixlen) if containing else None
        got = ix.match_ip(str(a))
        assert _val(got) == (str(want) if want else None), str(a)


def test_domains_urls_hashes():
    ix = _ix(("domain", "Evil.Example"), ("url", "HTTP://Bad.Example.org:80/x/../p?q=1#frag"),
             ("sha256", "AB" * 32), ("md5", "d41d8cd98f00b204e9800998ecf8427e"))
    dom = ix.match_domain("a.b.evil.example.")
    assert dom is not None and dom[1] == "evil.example"
    assert ix.match_domain("notevil.example") is None and ix.match_domain("example") is None
    assert _val(ix.match_url("http://bad.example.org/x/../p?q=1")) == norm_url("http://bad.example.org/x/../p?q=1")
    assert ix.match_url("http://BAD.example.org/x/../p?q=1#other") is not None
    assert ix.match_url("https://bad.example.org/x/../p?q=1") is None
    assert ix.match_hash("ab" * 32) is not None and ix.match_hash("AB" * 32) is not None
    assert ix.match_hash("D41D8CD98F00B204E9800998ECF8427E") is not None


def test_matcher_alerts_name_indicator_feed_and_tlp():
    ix = _ix(("domain", "c2.bad.example"), feed="ncsc-feed", tlp="amber")
    m = IndicatorMatcher(ix)
    ev = {"@timestamp": "2026-12-01T01:02:03Z", "source": {"ip": "10.1.1.5"},
          "dns": {"question": {"name": "x.c2.bad.example"}}, "soc": {"agency": {"id": "so-yte"}}}
    alerts = m.process(ev)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["kind"] == "indicator" and a["rule"]["level"] == "high"
    assert a["match"]["indicator"]["value"] == "c2.bad.example" and a["match"]["indicator"]["feed"] == "ncsc-feed"
    assert a["match"]["indicator"]["tlp"] == "amber" and "TLP:AMBER" in a["rule"]["description"]
    assert a["match"]["field"] == "dns.question.name" and a["soc"]["agency"]["id"] == "so-yte"
    assert m.process({"source": {"ip": "10.1.1.5"}, "dns": {"question": {"name": "example.org"}}}) == []


def test_matcher_event_fields_url_path_and_lists():
    ix = _ix(("url", "http://portal.example.vn/shell.php"), ("ip", "198.51.100.9"), ("sha1", "a" * 40))
    m = IndicatorMatcher(ix)
    web = {"url": {"original": "/shell.php", "domain": "portal.example.vn"}, "related": {"ip": ["198.51.100.9"]},
           "process": {"hash": {"sha1": "A" * 40}}}
    got = sorted(a["match"]["indicator"]["kind"] for a in m.process(web))
    assert got == ["ipv4", "sha1", "url"]


def test_expired_and_future_indicators_do_not_alert():
    now = time.time()
    ix = IndicatorIndex()
    ix.add(Indicator("domain", "old.example", "f", "green", valid_until=now - 1))
    ix.add(Indicator("domain", "future.example", "f", "green", valid_from=now + 3600))
    ix.add(Indicator("domain", "live.example", "f", "green", valid_until=now + 3600))
    m = IndicatorMatcher(ix.freeze())
    assert m.process({"url": {"domain": "old.example"}}) == []
    assert m.process({"url": {"domain": "future.example"}}) == []
    assert len(m.process({"url": {"domain": "live.example"}})) == 1
    assert m.stats["expired_hits"] == 2


def test_store_upsert_reload_and_purge(state):
    store = IndicatorStore(state.session)
    now = datetime.now(UTC)
    new, upd, bad = store.upsert("csv1", [IndicatorInput("ip", "198.51.100.1"), IndicatorInput("domain", "Bad.Example"),
                                          IndicatorInput("ip", "999.1.1.1"),
                                          IndicatorInput("domain", "gone.example", valid_until=now - timedelta(1))])
    assert (new, upd) == (3, 0) and bad[0][0] == "999.1.1.1"
    new, upd, _ = store.upsert("csv1", [IndicatorInput("domain", "bad.example", tlp="amber")])
    assert (new, upd) == (0, 1)
    m = IndicatorMatcher(loader=store.build_index, reload_seconds=3600)
    alerts = m.process({"url": {"domain": "www.bad.example"}})
    assert len(alerts) == 1 and alerts[0]["match"]["indicator"]["tlp"] == "amber"
    assert m.process({"url": {"domain": "gone.example"}}) == []
    assert store.purge_expired() == 1
    store.upsert("manual", [IndicatorInput("sha256", "cd" * 32)])
    assert m.process({"file": {"hash": {"sha256": "cd" * 32}}}) == []  # not reloaded yet
    m.reload()
    assert len(m.process({"file": {"hash": {"sha256": "cd" * 32}}})) == 1


GOOD = {"type": "indicator", "spec_version": "2.1", "id": "indicator--0b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a",
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "name": "C2 server",
        "pattern": "[ipv4-addr:value = '198.51.100.66' OR domain-name:value = 'c2.example.net']",
        "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}
CIDR = {**GOOD, "id": "indicator--1b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a",
        "pattern": "[ipv4-addr:value ISSUBSET '203.0.113.0/24']", "object_marking_refs": []}
BAD_PATTERN = {**GOOD, "id": "indicator--2b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a", "pattern": "[ipv4-addr:value = "}
NO_PATTERN = {k: v for k, v in GOOD.items() if k != "pattern"} | {"id": "indicator--3b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a"}
COMPLEX = {**GOOD, "id": "indicator--4b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a",
           "pattern": "[network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 4444]"}
EXPIRED = {**GOOD, "id": "indicator--5b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a", "pattern": "[domain-name:value = 'old.example']",
           "valid_until": "2020-01-01T00:00:00Z", "valid_from": "2019-01-01T00:00:00Z"}
SIGMA = {**GOOD, "id": "indicator--6b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a", "pattern_type": "sigma", "pattern": "title: x"}


def test_pattern_values():
    assert pattern_values("[file:hashes.'SHA-256' = 'AA'] OR [url:value = 'http://a.example/\\'x']") == [
        ("sha256", "AA"), ("url", "http://a.example/'x")]
    with pytest.raises(ValueError, match="AND"):
        pattern_values(str(COMPLEX["pattern"]))
    with pytest.raises(ValueError, match="does not parse"):
        pattern_values("[broken")


def test_stix_file_feed_rejects_bad_objects_and_uses_the_rest(state, tmp_path):
    p = tmp_path / "bundle.json"
    p.write_text(json.dumps({"type": "bundle", "id": "bundle--7b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a",
                             "objects": [GOOD, CIDR, BAD_PATTERN, NO_PATTERN, COMPLEX, EXPIRED, SIGMA, "junk",
                                         {"type": "identity", "id": "identity--x", "name": "n"}]}))
    store = IndicatorStore(state.session)
    res = pull_feed(store, FeedConfig(name="ncsc-file", type="stix", path=str(p)))
    assert res["status"] == "partial" and res["new"] == 3
    reasons = {r["id"]: r["reason"] for r in res["rejects"]}
    assert "pattern" in reasons[BAD_PATTERN["id"]] and "line 1:19" in reasons[BAD_PATTERN["id"]]
    assert "pattern" in reasons[NO_PATTERN["id"]]
    assert "AND" in reasons[COMPLEX["id"]] and "sigma" in reasons[SIGMA["id"]] and "?" in reasons
    m = IndicatorMatcher(store.build_index())
    a = m.process({"destination": {"ip": "198.51.100.66"}})
    assert a[0]["match"]["indicator"]["tlp"] == "amber" and a[0]["match"]["indicator"]["id"] == GOOD["id"]
    assert m.process({"destination": {"ip": "203.0.113.9"}})[0]["match"]["indicator"]["tlp"] == "green"
    assert m.process({"url": {"domain": "old.example"}}) == []


def test_malformed_feed_document_fails_cleanly(state, tmp_path):
    p = tmp_path / "feed.json"
    p.write_text("{not json")
    store = IndicatorStore(state.session)
    res = pull_feed(store, FeedConfig(name="broken", type="stix", path=str(p)))
    assert res["status"] == "failed" and "not JSON" in res["error"]
    res = pull_feed(store, FeedConfig(name="missing", type="csv", path=str(tmp_path / "nope.csv")))
    assert res["status"] == "failed" and "not found" in res["error"]


def test_csv_and_misp_feeds(state, tmp_path):
    csv_path = tmp_path / "iocs.csv"
    csv_path.write_text("# exported 2026-12-01\nvalue,type,tlp,name\n198.51.100.200,ip,clear,scanner\n"
                        "evil.example.com,,green,phish\nnot a value!,domain,,x\n192.0.2.0/24,cidr,,range\n")
    bare = tmp_path / "bare.txt"
    bare.write_text("# one per line\n198.51.100.201\nhttp://dl.bad.example/x.exe\n")
    misp = tmp_path / "misp.json"
    misp.write_text(json.dumps({"response": [{"Event": {
        "info": "Phishing campaign", "uuid": "e1", "Tag": [{"name": "tlp:amber"}],
        "Attribute": [{"uuid": "a1", "type": "ip-dst|port", "value": "198.51.100.202|443", "to_ids": True},
                      {"uuid": "a2", "type": "domain", "value": "phish.example", "to_ids": True,
                       "Tag": [{"name": "tlp:green"}]},
                      {"uuid": "a3", "type": "comment", "value": "x"},
                      {"uuid": "a4", "type": "md5", "value": "xyz", "to_ids": True},
                      {"uuid": "a5", "type": "domain", "value": "benign.example", "to_ids": False}],
        "Object": [{"Attribute": [{"uuid": "a6", "type": "sha256", "value": "ef" * 32, "to_ids": True}]}]}}]}))
    store = IndicatorStore(state.session)
    r1 = pull_feed(store, FeedConfig(name="csv", type="csv", path=str(csv_path)))
    r2 = pull_feed(store, FeedConfig(name="bare", type="csv", path=str(bare)))
    r3 = pull_feed(store, FeedConfig(name="misp", type="misp", path=str(misp)))
    assert (r1["new"], r1["rejected"]) == (3, 1) and "not a value" in r1["rejects"][0]["reason"]
    assert (r2["new"], r2["rejected"]) == (2, 0)
    assert (r3["new"], r3["rejected"]) == (3, 1) and r3["rejects"][0]["id"] == "a4"
    m = IndicatorMatcher(store.build_index())
    tlps = {a["match"]["indicator"]["value"]: a["match"]["indicator"]["tlp"]
            for ev in ({"source": {"ip": "198.51.100.200"}}, {"source": {"ip": "192.0.2.7"}},
                       {"destination": {"ip": "198.51.100.202"}}, {"url": {"domain": "phish.example"}},
                       {"url": {"full": "http://dl.bad.example/x.exe"}}, {"file": {"hash": {"sha256": "ef" * 32}}})
            for a in m.process(ev)}
    assert tlps == {"198.51.100.200": "clear", "192.0.2.0/24": "green", "198.51.100.202": "amber",
                    "phish.example": "green", "http://dl.bad.example/x.exe": "green", "ef" * 32: "amber"}
    assert m.process({"url": {"domain": "benign.example"}}) == []


def test_taxii_feed_pull_from_real_server(state, taxii_server):
    from taxii2client.v21 import Collection

    coll = Collection(f"{taxii_server['api_root']}collections/{COLLECTIONS['intel']}/", user=taxii_server["user"],
                      password=taxii_server["password"])
    coll.add_objects(json.dumps({"type": "bundle", "id": "bundle--8b9f5b3a-4c9e-4d0e-9f7a-1f1e2d3c4b5a",
                                 "objects": [GOOD, CIDR, BAD_PATTERN, COMPLEX]}))
    store = IndicatorStore(state.session)
    cfg = FeedConfig(name="ncsc", type="taxii", url=taxii_server["api_root"], collection=COLLECTIONS["intel"],
                     username=taxii_server["user"], password=taxii_server["password"])
    sched = IntelScheduler(store, [cfg])
    res = sched.run_once()[0]
    assert res["status"] == "partial" and res["new"] == 3 and res["rejected"] == 2
    assert {r["id"] for r in res["rejects"]} == {BAD_PATTERN["id"], COMPLEX["id"]}
    m = IndicatorMatcher(store.build_index())
    assert m.process({"dns": {"question": {"name": "c2.example.net"}}})[0]["match"]["indicator"]["feed"] == "ncsc"
    assert sched.run_once() == [], "not due again before interval_minutes"
    # Unreachable feed: recorded as failed, nothing lost from the store.
    bad = FeedConfig(name="ncsc", type="taxii", url="http://127.0.0.1:9/intake/", collection=COLLECTIONS["intel"],
                     timeout_seconds=2)
    res = pull_feed(store, bad)
    assert res["status"] == "failed" and "unreachable" in res["error"]
    assert store.counts()["ncsc"] == 3


def test_scheduler_reloads_matcher_after_a_pull(state, tmp_path):
    p = tmp_path / "list.txt"
    p.write_text("bad1.example\n")
    store = IndicatorStore(state.session)
    m = IndicatorMatcher(loader=store.build_index, reload_seconds=3600)
    assert m.process({"url": {"domain": "bad1.example"}}) == []  # first event loads the (empty) index
    clock = [time.time()]
    sched = IntelScheduler(store, [{"name": "list", "type": "csv", "path": str(p), "interval_minutes": 5}],
                           on_change=m.reload, clock=lambda: clock[0])
    sched.run_once()
    assert len(m.process({"url": {"domain": "bad1.example"}})) == 1
    p.write_text("bad1.example\nbad2.example\n")
    clock[0] += 301
    assert sched.run_once()[0]["new"] == 1
    assert len(m.process({"url": {"domain": "www.bad2.example"}})) == 1
