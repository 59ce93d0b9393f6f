"""Engine behaviour around matches: alert shape, Sigma filters, suppressions, enabling rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detectors.sigma import SigmaEngine

RULE = """
title: Whoami Execution
id: 55555555-5555-4555-8555-555555555555
status: test
description: whoami run
author: tester
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
    sel_img:
        Image|endswith: '\\whoami.exe'
    sel_cmd:
        CommandLine|contains: '/all'
    condition: sel_img or sel_cmd
level: high
"""


def proc(image: str = "C:\\Windows\\System32\\whoami.exe", cmd: str = "whoami", user: str = "bob") -> dict:
    return {"@timestamp": "2026-11-30T01:00:00Z", "host": {"name": "pc1"},
            "soc": {"agency": {"id": "sotttt", "name": "Sở TT&TT"}, "system": {"id": "s1", "level": 3}},
            "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                       "event_data": {"Image": image, "CommandLine": cmd, "User": user}}}


@pytest.fixture
def eng(write_rule) -> SigmaEngine:
    return SigmaEngine.from_paths([write_rule(RULE)])


def test_alert_shape_and_explanation(eng):
    (a,) = eng.process(proc())
    assert a["kind"] == "sigma"
    assert a["rule"] == {"id": "55555555-5555-4555-8555-555555555555", "name": "Whoami Execution", "level": "high",
                         "tags": ["attack.discovery", "attack.t1033"], "description": "whoami run",
                         "author": "tester"}
    assert a["match"]["selections"] == ["sel_img"]
    assert a["match"]["fields"]["Image"].endswith("whoami.exe")
    assert a["events"] == [proc()]
    assert a["soc"]["agency"]["id"] == "sotttt"
    assert a["@timestamp"] == "2026-11-30T01:00:00Z"
    assert eng.rules[0]["enabled"] and eng.rules[0]["path"].endswith(".yml")


def test_sigma_filter_rule_excludes_matches(write_rule):
    write_rule(RULE, "rule.yml")
    folder = write_rule("""
title: Admins may run whoami
logsource: {product: windows, category: process_creation}
filter:
    rules: [55555555-5555-4555-8555-555555555555]
    selection:
        User|startswith: 'adm_'
    condition: not selection
""", "filter.yml").parent
    eng = SigmaEngine.from_paths([folder])
    assert not eng.errors, eng.errors
    assert eng.process(proc(user="bob"))
    assert eng.process(proc(user="adm_nguyen")) == []
    assert eng.stats["filtered"] == 1


def test_suppressions(eng):
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    eng.set_suppressions([
        {"id": "s1", "rule_id": "55555555-5555-4555-8555-555555555555", "field": "winlog.event_data.User",
         "value": "scanner", "owner": "an@soc", "reason": "authorised scan", "expires": future},
        {"id": "s2", "rule_id": "*", "match": {"host.name": "pc9"}, "owner": "an@soc", "reason": "lab",
         "expires": past},
    ])
    assert eng.process(proc(user="scanner")) == []
    assert eng.suppressions[0].hits == 1
    ev = proc()
    ev["host"]["name"] = "pc9"
    assert eng.process(ev), "an expired suppression no longer applies"
    with pytest.raises(ValueError, match="owner"):
        eng.set_suppressions([{"rule_id": "*", "field": "x", "value": 1}])
    with pytest.raises(ValueError, match="expires"):
        eng.set_suppressions([{"rule_id": "*", "field": "x", "value": 1, "owner": "a", "reason": "b",
                               "expires": "tomorrow"}])
    assert len(eng.suppressions) == 2  # a rejected update keeps the previous list


def test_disable_rule(eng):
    assert eng.set_enabled("55555555-5555-4555-8555-555555555555", False)
    assert eng.process(proc()) == []
    assert not eng.rules[0]["enabled"]
    assert eng.set_enabled("55555555-5555-4555-8555-555555555555", True)
    assert eng.process(proc())


def test_detector_protocol(eng):
    from detectors.base import Detector

    d: Detector = eng
    assert d.name == "sigma"
    assert d.flush(datetime.now(UTC)) == []


def test_disable_correlation(write_rule):
    p = write_rule("""
title: two denies
id: 77777777-7777-4777-8777-777777777777
correlation:
    type: event_count
    rules: [deny]
    group-by: [source.ip]
    timespan: 1m
    condition: {gte: 2}
---
title: deny
name: deny
logsource: {category: firewall}
detection: {sel: {event.action: deny}, condition: sel}
""")
    eng = SigmaEngine.from_paths([p])
    ev = {"@timestamp": "2026-11-30T01:00:00Z", "event": {"category": ["network"], "action": "deny"},
          "source": {"ip": "1.2.3.4"}}
    assert eng.set_enabled("77777777-7777-4777-8777-777777777777", False)
    assert eng.process(ev) + eng.process(ev) == []
    assert not [r for r in eng.rules if r["kind"] == "correlation"][0]["enabled"]
    assert eng.set_enabled("77777777-7777-4777-8777-777777777777", True)
    assert [a["kind"] for a in eng.process(ev) + eng.process(ev)] == ["correlation"]
    assert not eng.set_enabled("no-such-id", False)


def test_odd_values_never_stop_processing(write_rule):
    p = write_rule("""
title: regex on odd values
id: 88888888-8888-4888-8888-888888888888
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|re: 'evil'
    condition: sel
""")
    eng = SigmaEngine.from_paths([p])
    odd = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                      "event_data": {"CommandLine": "evil \ud800 surrogate", "Image": None, "X": [1, {"y": b"z"}]}}}
    eng.process(odd)  # whatever the outcome, no exception
    ok = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                     "event_data": {"CommandLine": "very evil"}}}
    assert eng.process(ok)


def test_explanation_implied_by_the_condition(write_rule):
    """What a true condition forces (AND, NOT, ``all of``, a false OR) is not re-evaluated; OR branches are."""
    from detectors.sigma.compiler import implied_results, parse_condition

    path = write_rule("""
    title: implied
    logsource: {product: windows, category: process_creation}
    detection:
        sel: {Image|endswith: '\\x.exe'}
        a: {CommandLine|contains: 'aaa'}
        b: {CommandLine|contains: 'bbb'}
        f1: {User: 'system'}
        f2: {ParentImage|endswith: '\\svc.exe'}
        condition: sel and (a or b) and not (f1 or f2)
    level: high
    """)
    eng = SigmaEngine([path.parent])
    (rule,) = eng.compiled_rules
    assert rule.implied == {"sel": True, "f1": False, "f2": False}
    ev = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                     "event_data": {"Image": "c:\\x.exe", "CommandLine": "run bbb", "User": "bob"}}}
    (alert,) = eng.process(ev)
    assert alert["match"]["selections"] == ["sel", "b"]
    assert eng.explain(rule, ev) == eng.explain(rule, ev, matched=True)
    # a false AND implies nothing; 'all of' forces each, '1 of' under a false NOT forces each false
    from sigma.rule import SigmaRule

    def implied(cond: str) -> dict[str, bool]:
        r = SigmaRule.from_yaml(f"""
title: c
logsource: {{product: windows}}
detection:
    s1: {{a: 1}}
    s2: {{b: 2}}
    _x: {{c: 3}}
    condition: {cond}
""")
        dets = dict.fromkeys(r.detection.detections)
        return implied_results(parse_condition(r.detection.parsed_condition[0]), dets)

    assert implied("not (s1 and s2)") == {}
    assert implied("all of s*") == {"s1": True, "s2": True}
    assert implied("not 1 of them") == {"s1": False, "s2": False}
    assert implied("1 of them") == {}
    assert implied("s1 or s2") == {}
