"""Correlation rules: the specification's examples load and behave as the specification describes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.sigma import SigmaEngine
from tests.sigma.conftest import SPEC, need

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def sec(event_id: int, user: str, t: float, **data) -> dict:
    return {"@timestamp": at(t), "winlog": {"channel": "Security", "event_id": str(event_id),
                                            "event_data": {"TargetUserName": user, "User": user, **data}}}


def spec_example() -> str:
    """The complete example of the correlation specification (failed logins followed by success)."""
    text = need(SPEC / "specification" / "sigma-correlation-rules-specification.md").read_text(encoding="utf-8")
    m = re.search(r"### Failed Logins Followed by Successful Login.*?```yml\n(.*?)```", text, re.S)
    assert m, "example not found in the specification"
    return m.group(1)


@pytest.fixture
def spec_engine(tmp_path: Path) -> SigmaEngine:
    p = tmp_path / "failed_then_success.yml"
    p.write_text(spec_example(), encoding="utf-8")
    eng = SigmaEngine.from_paths([p], lateness_seconds=0)
    assert not eng.errors, eng.errors
    return eng


def kinds(alerts):
    return [(a["kind"], a["rule"]["name"]) for a in alerts]


def test_spec_example_failed_logins_then_success(spec_engine):
    eng = spec_engine
    out = []
    for i in range(10):
        out += eng.process(sec(4625, "alice", i * 10))
    # the intermediate correlation and base rules do not alert on their own (generate: false)
    assert out == []
    out += eng.process(sec(4624, "alice", 200))
    assert kinds(out) == [("correlation", "Correlation - Multiple Failed Logins Followed by Successful Login")]
    a = out[0]
    assert a["match"]["group"] == {"User": "alice"}
    assert a["match"]["type"] == "temporal_ordered"
    assert a["events"], "contributing events are attached"
    assert a["rule"]["level"] == "high"


def test_spec_example_needs_enough_failures_and_order(spec_engine):
    eng = spec_engine
    out = []
    out += eng.process(sec(4624, "bob", 0))  # success first: wrong order
    for i in range(9):  # only 9 failures (gte 10 required)
        out += eng.process(sec(4625, "bob", 10 + i))
    out += eng.process(sec(4624, "bob", 100))
    assert out == []
    # another user's failures do not count for bob
    for i in range(10):
        out += eng.process(sec(4625, "carol", 200 + i))
    out += eng.process(sec(4624, "bob", 300))
    assert out == []


def test_spec_example_respects_timespan(spec_engine):
    eng = spec_engine
    out = []
    for i in range(10):  # 10 failures spread over 15 minutes: never 10 within 10 minutes
        out += eng.process(sec(4625, "dave", i * 100))
    out += eng.process(sec(4624, "dave", 1000))
    assert out == []


def load_schema_examples(tmp_path: Path, base_rules: str) -> SigmaEngine:
    src = need(SPEC / "tests" / "schema" / "correlation")
    for f in src.glob("*.yml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "base_rules.yml").write_text(base_rules, encoding="utf-8")
    return SigmaEngine.from_paths([tmp_path], lateness_seconds=0)


BASE_RULES = """
title: Failed logon
id: 5638f7c0-ac70-491d-8465-2a65075e0d86
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: recon a
name: recon_cmd_a
logsource: {product: windows, category: process_creation}
detection: {sel: {CommandLine|contains: whoami}, condition: sel}
---
title: recon b
name: recon_cmd_b
logsource: {product: windows, category: process_creation}
detection: {sel: {CommandLine|contains: 'net user'}, condition: sel}
---
title: recon c
name: recon_cmd_c
logsource: {product: windows, category: process_creation}
detection: {sel: {CommandLine|contains: ipconfig}, condition: sel}
---
title: traffic
name: rule_a_id
logsource: {category: firewall}
detection: {sel: {event.action: allow}, condition: sel}
---
title: web access
name: website_access
logsource: {category: proxy}
detection: {sel: {http.request.method: POST}, condition: sel}
---
title: processes
name: process_creation
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|startswith: 'C:'}, condition: sel}
"""


def proc(cmd: str, t: float, host: str = "pc1", user: str = "u1", image: str = "C:\\x.exe") -> dict:
    return {"@timestamp": at(t), "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                                            "computer_name": host,
                                            "event_data": {"CommandLine": cmd, "User": user, "Image": image}}}


def test_schema_examples_load(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    types = sorted(r["type"] for r in eng.rules if r["kind"] == "correlation")
    # event_count.yml and event_count_ecs.yml share one id: the second is rejected as a duplicate
    assert types == ["event_count", "temporal", "temporal_ordered", "value_avg", "value_count",
                     "value_percentile", "value_sum"]
    assert [e[2].split(" (")[0] for e in eng.errors] == ["duplicate rule id 0e95725d-7320-415d-80f7-004da920fc11"]


def test_temporal_any_order_within_timespan(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    out = []
    out += eng.process(proc("ipconfig /all", 0))
    out += eng.process(proc("whoami", 60))
    assert not [a for a in out if a["kind"] == "correlation"]
    out += eng.process(proc("net user", 120))
    names = [a["rule"]["name"] for a in out if a["kind"] == "correlation"]
    assert "Recon" in names and "Recon ordered" not in names  # c, a, b is not the a, b, c order
    out = []
    out += eng.process(proc("whoami", 1000, host="pc2"))
    out += eng.process(proc("net user", 1010, host="pc2"))
    out += eng.process(proc("ipconfig", 1020, host="pc2"))
    names = [a["rule"]["name"] for a in out if a["kind"] == "correlation"]
    assert "Recon" in names and "Recon ordered" in names


def test_temporal_outside_timespan_does_not_fire(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    out = eng.process(proc("whoami", 0)) + eng.process(proc("net user", 200)) + eng.process(proc("ipconfig", 400))
    assert not [a for a in out if a["kind"] == "correlation"]


def net(t: float, src: str, user: str, nbytes: int, action: str = "allow") -> dict:
    return {"@timestamp": at(t), "event": {"category": ["network"], "action": action},
            "SourceIP": src, "User": user, "BytesOut": nbytes}


def test_value_avg_fires_when_window_closes(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    out = []
    for i, b in enumerate([400, 900, 800]):  # avg 700 > 500
        out += eng.process(net(i * 60, "10.0.0.1", "u", b))
    for i, b in enumerate([100, 200]):  # avg 150
        out += eng.process(net(i * 60, "10.0.0.2", "u", b))
    assert not [a for a in out if a["kind"] == "correlation"]  # window (24h) still open
    out = eng.flush(T0 + timedelta(days=2))
    avg = [a for a in out if a["rule"]["name"] == "Suspicious average network traffic"]
    assert len(avg) == 1 and avg[0]["match"]["group"]["SourceIP"] == "10.0.0.1"
    assert avg[0]["match"]["value"] == pytest.approx(700)
    assert len(avg[0]["events"]) == 3


def test_value_sum_fires_on_arrival(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    post = {"event": {"module": "squid"}, "http": {"request": {"method": "POST"}}, "SourceIP": "10.1.1.1",
            "User": "u"}
    out = eng.process({**post, "@timestamp": at(0), "bytes_sent": 600_000})
    assert not out
    out = eng.process({**post, "@timestamp": at(10), "bytes_sent": 500_000})
    assert [a["rule"]["name"] for a in out] == ["Possible Exfiltration to Website"]


def test_value_count_and_lateness(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "scan.yml").write_text("""
title: Port scan
correlation:
    type: value_count
    rules: [deny]
    group-by: [source.ip]
    timespan: 1m
    condition: {field: destination.port, gte: 5}
---
title: deny
name: deny
logsource: {category: firewall}
detection: {sel: {event.action: deny}, condition: sel}
""")
    eng = SigmaEngine.from_paths([folder], lateness_seconds=30)

    def deny(t: float, port: int, src: str = "1.2.3.4") -> dict:
        return {"@timestamp": at(t), "event": {"category": ["network"], "action": "deny"},
                "source": {"ip": src}, "destination": {"port": port}}

    out = []
    for i in range(4):
        out += eng.process(deny(i, 22))  # same port: one distinct value
    for p in (80, 443, 8080):
        out += eng.process(deny(10, p))
    assert out == []
    out += eng.process(deny(5, 3389))  # out of order but within the allowed lateness
    assert [a["match"]["value"] for a in out] == [5]
    # far too late: older than watermark - timespan
    for i in range(5):
        eng.process(deny(1000 + i, 10 + i, src="9.9.9.9"))
    before = eng.corr.stats["late"]
    eng.process(deny(100, 1, src="9.9.9.9"))
    assert eng.corr.stats["late"] == before + 1


def test_state_is_bounded(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "c.yml").write_text("""
title: many
correlation:
    type: event_count
    rules: [deny]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 1000}
---
title: deny
name: deny
logsource: {category: firewall}
detection: {sel: {event.action: deny}, condition: sel}
""")
    eng = SigmaEngine.from_paths([folder], max_state=100)
    for i in range(500):
        eng.process({"@timestamp": at(i), "event": {"category": ["network"], "action": "deny"},
                     "source": {"ip": f"10.0.{i // 250}.{i % 250}"}})
    assert eng.corr.total <= 100
    assert len(eng.corr.groups) <= 100
    assert eng.corr.stats["evicted"] >= 400


def test_state_survives_restart(tmp_path, spec_engine):
    state = tmp_path / "state" / "sigma_state.json"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "spec.yml").write_text(spec_example(), encoding="utf-8")
    eng = SigmaEngine.from_paths([rules], state_path=state, lateness_seconds=0)
    for i in range(10):
        assert eng.process(sec(4625, "erin", i)) == []
    eng.save_state()
    assert state.exists()
    again = SigmaEngine.from_paths([rules], state_path=state, lateness_seconds=0)
    out = again.process(sec(4624, "erin", 60))
    assert [a["rule"]["name"] for a in out] == ["Correlation - Multiple Failed Logins Followed by Successful Login"]
    # without the saved state the same success raises nothing
    fresh = SigmaEngine.from_paths([rules], lateness_seconds=0)
    assert fresh.process(sec(4624, "erin", 60)) == []


def test_aliases_group_different_fields(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "alias.yml").write_text("""
title: internal error then connection
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip: {internal_error: destination.ip, new_network_connection: source.ip}
        remote_ip: {internal_error: source.ip, new_network_connection: destination.ip}
---
title: internal error
name: internal_error
logsource: {category: webserver}
detection: {sel: {http.response.status_code: 500}, condition: sel}
---
title: new connection
name: new_network_connection
logsource: {category: firewall}
detection: {sel: {event.type: connection, event.outcome: success}, condition: sel}
""")
    eng = SigmaEngine.from_paths([folder])
    assert not eng.errors, eng.errors
    out = eng.process({"@timestamp": at(0), "event": {"module": "nginx"}, "http": {"response": {"status_code": 500}},
                       "source": {"ip": "1.1.1.1"}, "destination": {"ip": "10.0.0.5"}})
    out += eng.process({"@timestamp": at(3), "event": {"category": ["network"], "type": ["connection"],
                                                       "outcome": "success"},
                        "source": {"ip": "10.0.0.5"}, "destination": {"ip": "1.1.1.1"}})
    corr = [a for a in out if a["kind"] == "correlation"]
    assert len(corr) == 1 and corr[0]["match"]["group"] == {"internal_ip": "10.0.0.5", "remote_ip": "1.1.1.1"}


def test_value_percentile_spec_example_flags_rare_values(tmp_path):
    eng = load_schema_examples(tmp_path, BASE_RULES)
    out = []
    for i in range(150):
        out += eng.process(proc("x", i, host="pc7", image="C:\\Windows\\svchost.exe"))
    out += eng.process(proc("x", 200, host="pc7", image="C:\\Users\\bob\\rare.exe"))
    assert not [a for a in out if a["rule"]["name"].startswith("A computer spawned")]
    closed = eng.flush(T0 + timedelta(days=2))
    (a,) = [a for a in closed if a["rule"]["name"].startswith("A computer spawned")]
    assert a["match"]["group"] == {"ComputerName": "pc7"}
    assert list(a["match"]["value"]) == ["C:\\Users\\bob\\rare.exe"]  # 1 of 151 events: under 1 %
