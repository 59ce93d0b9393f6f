"""Grouping, rating, deadlines, lifecycle and the unassigned queue, on a real state database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from soc.incidents.engine import IncidentError, record_layer4_status
from soc.incidents.models import Notice, TimelineEntry
from soc.storage.models import Alert, Incident, Outbox

BF = ["attack.credential_access", "attack.t1110"]


def _incidents(env: Any) -> list[Incident]:
    with env.state.session() as s:
        return list(s.execute(select(Incident).order_by(Incident.id)).scalars())


def test_related_alerts_group_into_one_incident(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    env.clock.now += timedelta(minutes=20)
    env.alert("Successful login after failures", tags=["attack.initial_access", "attack.t1078"],
              rule_id="login-after-fail")
    env.clock.now += timedelta(minutes=20)
    env.alert("Webshell upload", tags=["attack.persistence", "attack.t1505.003"], rule_id="webshell")
    incs = _incidents(env)
    assert len(incs) == 1
    inc = incs[0]
    assert inc.data["alert_count"] == 3
    assert set(inc.data["rule_ids"]) == {"ssh-brute-force", "login-after-fail", "webshell"}
    assert inc.tactics == ["initial_access", "persistence", "credential_access"]  # kill-chain order
    assert inc.category == "web_attack"  # the most specific category of its alerts wins
    with env.state.session() as s:
        assert s.execute(select(Alert).where(Alert.incident_id == inc.id)).scalars().all().__len__() == 3
        kinds = [t.kind for t in s.execute(select(TimelineEntry).where(TimelineEntry.incident_id == inc.id))
                 .scalars()]
    assert kinds.count("alert:linked") == 3 and kinds[0] == "created"


def test_unrelated_or_distant_alerts_make_separate_incidents(env: Any) -> None:
    env.alert("SSH brute force", tags=BF, src="203.0.113.7", dst="10.10.1.5")
    env.alert("SSH brute force", tags=BF, src="198.51.100.9", dst="10.20.3.3")  # other entity, other agency
    env.clock.now += timedelta(hours=5)  # beyond group_window (240 min)
    env.alert("Port scan", tags=["attack.discovery"], src="203.0.113.7", dst="10.10.1.5", rule_id="scan")
    incs = _incidents(env)
    assert [i.agency_id for i in incs] == ["sotttt", "soyte", "sotttt"]


def test_severity_and_level(env: Any) -> None:
    env.alert("Odd request", level="medium", dst="10.10.2.9")  # level 3 system: stays medium
    env.alert("Odd request", level="medium", src="192.0.2.1", dst="10.10.1.9")  # level 4 portal: raised
    a, b = _incidents(env)
    assert (a.severity, a.system_level) == ("medium", 3)
    assert (b.severity, b.system_level) == ("high", 4)


def test_t0_to_the_minute_and_sla(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    inc = _incidents(env)[0]
    assert inc.t0.second == 0 and inc.t0.microsecond == 0
    assert abs((inc.t0 - env.clock.now).total_seconds()) < 120
    assert set(inc.data["sla_due"]) == {"ack", "triage", "contain", "resolve"}


def test_serious_from_profile_and_2026_deadlines(env: Any) -> None:
    # exfiltration (impact: secret data disclosure) on the level-4 portal -> serious under vn-2026
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], dst="10.10.1.7", rule_id="exfil")
    # the same on a level-3 system -> not serious
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], src="192.0.2.50", dst="10.10.2.7",
              rule_id="exfil")
    serious, plain = _incidents(env)
    assert serious.serious and serious.data["serious_auto"]
    assert not plain.serious
    due = serious.deadlines
    assert set(due) == {"initial_notice", "cause_scope_remedy", "final_report"}
    from datetime import datetime
    assert datetime.fromisoformat(due["initial_notice"]["due"]) == serious.t0 + timedelta(hours=24)
    assert datetime.fromisoformat(due["cause_scope_remedy"]["due"]) == serious.t0 + timedelta(hours=72)
    assert plain.deadlines == {}


def test_analyst_override_of_serious_needs_reason(env: Any) -> None:
    env.alert("Odd request", level="medium", dst="10.10.2.9")
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        with pytest.raises(IncidentError, match="reason"):
            env.engine.override_serious(s, inc, True, "  ", "alice")
        env.engine.override_serious(s, inc, True, "patient records involved", "alice")
        assert inc.serious and inc.serious_override_reason == "patient records involved"
        assert "initial_notice" in inc.deadlines
    # later alerts do not undo an analyst's decision
    env.clock.now += timedelta(minutes=5)
    env.alert("Odd request", level="medium", dst="10.10.2.9")
    assert _incidents(env)[0].serious


def test_unknown_address_goes_to_unassigned_queue(env: Any) -> None:
    env.alert("SSH brute force", tags=BF, src="203.0.113.99", dst="172.31.9.9")
    inc = _incidents(env)[0]
    assert inc.agency_id is None
    with env.state.session() as s:
        kinds = {t.kind for t in s.execute(select(TimelineEntry)).scalars()}
        assert "queue:unassigned" in kinds
        assert s.execute(select(Notice)).first() is None
        assert s.execute(select(Outbox)).first() is None
        # an analyst assigns it: the agency is notified then
        inc = s.get(Incident, inc.id)
        env.engine.set_agency(s, inc, "soyte", "alice")
        assert s.execute(select(Notice)).scalar_one().agency_id == "soyte"


def test_lifecycle_transitions_and_close_requires_final_report(env: Any) -> None:
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], dst="10.10.1.7", rule_id="exfil")
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        with pytest.raises(IncidentError, match="cannot go from 'new' to 'closed'"):
            env.engine.transition(s, inc, "closed", "alice")
        for st in ("triage", "investigating", "contained", "resolved"):
            env.clock.now += timedelta(minutes=10)
            env.engine.transition(s, inc, st, "alice")
        assert inc.resolved_at == env.clock.now
        assert inc.deadlines["final_report"]["due"] is not None
        with pytest.raises(IncidentError, match="file the final report"):
            env.engine.transition(s, inc, "closed", "alice")
        env.engine.record_filing(s, inc, "final", "alice", "CV-123")
        env.engine.transition(s, inc, "closed", "alice")
        assert inc.status == "closed"
        ms = inc.data["milestones"]
        assert ms["triage"] < ms["contain"] < ms["resolve"]
        # final notice to the agency (no acknowledgement asked)
        final = s.execute(select(Notice).where(Notice.kind == "final")).scalar_one()
        assert final.ack_due_at is None


def test_layer4_status_fulfils_deadlines(env: Any) -> None:
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], dst="10.10.1.7", rule_id="exfil")
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        assert inc.deadlines["initial_notice"]["met_at"] is None
        record_layer4_status(s, inc.id, "sent", {"taxii_status": "abc"}, engine=env.engine)
        assert inc.deadlines["initial_notice"]["met_at"] is not None
        assert inc.deadlines["cause_scope_remedy"]["met_at"] is None
        assert inc.data["layer4"]["status"] == "sent"


def test_risk_score_grows_with_alerts(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    r1 = _incidents(env)[0].data["risk"]
    env.clock.now += timedelta(minutes=1)
    env.alert("Port scan", tags=["attack.discovery"], rule_id="scan")
    r2 = _incidents(env)[0].data["risk"]
    assert 0 < r1 < r2


def test_2017_profile(env: Any) -> None:
    env.settings.incidents.profile = "vn-2017"
    from soc.incidents.engine import IncidentEngine

    eng = IncidentEngine(env.settings, env.state, env.inventory, clock=env.clock)
    env.engine = eng
    env.alert("SSH brute force", tags=BF)
    inc = _incidents(env)[0]
    assert inc.profile == "vn-2017"
    from datetime import datetime
    assert datetime.fromisoformat(inc.deadlines["notify"]["due"]) == inc.t0 + timedelta(days=5)
    assert inc.deadlines["final_report"]["due"] is None


def test_layer4_status_without_engine(env: Any) -> None:
    """The sharing area calls record_layer4_status(session, id, status, detail) with no engine at hand."""
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], dst="10.10.1.7", rule_id="exfil")
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        record_layer4_status(s, inc.id, "queued", {"destination": "ncsc"})
        assert inc.deadlines["initial_notice"]["met_at"] is None
        record_layer4_status(s, inc.id, "sent", {"destination": "ncsc"})
        assert inc.deadlines["initial_notice"]["met_at"] is not None
        with pytest.raises(IncidentError, match="not found"):
            record_layer4_status(s, 424242, "sent", {})
