"""Layer-1 notices over a real SMTP server and a real webhook receiver: once, to the right people, escalated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from soc.incidents.delivery import OutboxWorker, key_digest, message_id
from soc.incidents.models import Notice, TimelineEntry
from soc.storage.models import Incident, Outbox

BF = ["attack.credential_access", "attack.t1110"]


def _worker(env: Any) -> OutboxWorker:
    return OutboxWorker(env.settings, env.state, ticks=[env.engine.escalate_due], clock=env.clock)


def test_notice_arrives_once_with_recipients_language_and_deadline(env: Any) -> None:
    env.alert("Large upload to rare domain", tags=["attack.exfiltration"], dst="10.10.1.7", rule_id="exfil")
    w = _worker(env)
    counts = w.run_once()
    assert counts["sent"] == 2 and counts["failed"] == 0  # one e-mail, one webhook
    assert w.run_once()["sent"] == 0  # nothing is sent twice
    assert len(env.box.messages) == 1
    rcpt, msg = env.box.messages[0]
    assert rcpt == ["an.nv@sotttt.haiphong.gov.vn"]
    assert msg["Subject"].startswith("[SOC Hải Phòng] Sự cố HP-")  # Vietnamese first, with diacritics
    assert "NGHIÊM TRỌNG" in msg["Subject"] and "SERIOUS" in msg["Subject"]
    assert msg["Content-Language"] == "vi, en"
    body = msg.get_content()
    assert "Kính gửi Nguyễn Văn An" in body and "English version" in body and "Dear Nguyễn Văn An" in body
    # the regulatory deadline (vn-2026, serious: initial notice within 24 h) is in the notice, local time
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        due = inc.deadlines["initial_notice"]["due"]
        outbox = s.execute(select(Outbox).where(Outbox.channel == "email")).scalar_one()
    assert "Thông báo ban đầu sự cố nghiêm trọng (trong 24 giờ): " + env.engine.local(due) in body
    assert "Initial notice of a serious incident (within 24 hours)" in body
    assert msg["Message-ID"] == message_id(outbox.key, env.settings.incidents.smtp.sender)
    assert "/api/v1/ack/" in body
    # the webhook got the same notice as JSON, with the idempotency key derived from the outbox key
    assert len(env.hooks.requests) == 1
    req = env.hooks.requests[0]
    assert req["path"] == "/sotttt"
    assert req["body"]["incident"]["ref"] == inc.ref and req["body"]["tier"] == "primary"
    assert req["headers"]["X-SOC-Signature"].startswith("sha256=")
    with env.state.session() as s:
        hook = s.execute(select(Outbox).where(Outbox.channel == "webhook")).scalar_one()
    assert req["headers"]["Idempotency-Key"] == key_digest(hook.key)[:40]


def test_english_speaking_contact_gets_english_first(env: Any) -> None:
    env.alert("SSH brute force", tags=BF, src="198.51.100.9", dst="10.20.3.3")
    _worker(env).run_once()
    rcpt, msg = env.box.messages[0]
    assert rcpt == ["cuong.lv@soyte.haiphong.gov.vn"]
    assert msg["Subject"].startswith("[Hai Phong SOC]") and msg["Content-Language"] == "en, vi"
    assert msg.get_content().startswith("Dear Lê Văn Cường")


def test_low_severity_does_not_notify(env: Any) -> None:
    env.alert("Odd request", level="low", dst="10.10.2.9")
    assert _worker(env).run_once()["sent"] == 0
    assert env.box.messages == []


def test_unacknowledged_notice_escalates_to_backup_then_lead(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)  # portal, level 4 -> critical -> ack within 15 min
    w = _worker(env)
    w.run_once()
    assert [r for r, _ in env.box.messages] == [["an.nv@sotttt.haiphong.gov.vn"]]
    env.clock.now += timedelta(minutes=10)
    w.run_once()
    assert len(env.box.messages) == 1  # not yet due
    env.clock.now += timedelta(minutes=6)
    w.run_once()  # escalation queued by the tick
    w.run_once()  # and sent
    assert env.box.messages[1][0] == ["binh.tt@sotttt.haiphong.gov.vn"]
    assert "CHUYỂN TIẾP" in env.box.messages[1][1]["Subject"]
    env.clock.now += timedelta(minutes=16)
    w.run_once()
    w.run_once()
    assert env.box.messages[2][0] == [env.settings.incidents.soc_lead_email]
    env.clock.now += timedelta(minutes=16)
    w.run_once()
    w.run_once()
    assert len(env.box.messages) == 3  # the chain ends with the SOC lead
    with env.state.session() as s:
        kinds = [t.kind for t in s.execute(select(TimelineEntry).order_by(TimelineEntry.id)).scalars()]
    assert kinds.count("notice:escalated") == 2 and "escalation:exhausted" in kinds


def test_acknowledged_notice_does_not_escalate(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    w = _worker(env)
    w.run_once()
    with env.state.session() as s:
        n = s.execute(select(Notice)).scalar_one()
        token = env.engine.signer.token(n.id, n.nonce)
    env.engine.acknowledge_token(token)
    env.clock.now += timedelta(hours=2)
    w.run_once()
    w.run_once()
    assert len(env.box.messages) == 1


def test_restart_during_delivery_sends_nothing_twice(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    first = _worker(env)
    assert first.run_once()["sent"] == 2
    # Simulate a crash after the SMTP server and the webhook took the message but before 'sent' was committed.
    with env.state.session() as s:
        s.execute(update(Outbox).values(status="sending", next_attempt_at=env.clock.now))
    restarted = OutboxWorker(env.settings, env.state, clock=env.clock)
    env.clock.now += timedelta(seconds=61)  # the dead worker's lease (60 s in this configuration) ran out
    counts = restarted.run_once()
    assert len(env.box.messages) == 1  # the e-mail is not sent again: its fate is unknown, an operator decides
    # the webhook is re-sent with the same idempotency key, so the receiver keeps one notice
    assert len(env.hooks.accepted) == 1
    assert len({r["headers"]["Idempotency-Key"] for r in env.hooks.requests}) == 1
    assert counts["unknown"] == 1 and counts["retried"] == 1
    with env.state.session() as s:
        st = {o.channel: o.status for o in s.execute(select(Outbox)).scalars()}
    assert st == {"email": "unknown", "webhook": "sent"}
    # nothing more on further passes, and a row still 'sending' within its lease is left alone
    assert restarted.run_once()["sent"] == 0
    assert len(env.box.messages) == 1


def test_live_lease_is_not_stolen(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    with env.state.session() as s:
        s.execute(update(Outbox).values(status="sending", next_attempt_at=env.clock.now + timedelta(seconds=60)))
    counts = OutboxWorker(env.settings, env.state, clock=env.clock).run_once()
    assert counts == {"sent": 0, "retry": 0, "failed": 0, "retried": 0, "unknown": 0}
    assert env.box.messages == [] and env.hooks.requests == []


def test_failures_retry_with_backoff(env: Any, tmp_path: Any) -> None:
    env.hooks.fail_next = 2
    env.alert("SSH brute force", tags=BF)
    w = _worker(env)
    w.run_once()
    with env.state.session() as s:
        hook = s.execute(select(Outbox).where(Outbox.channel == "webhook")).scalar_one()
        assert hook.status == "pending" and hook.attempts == 1 and "503" in (hook.last_error or "")
        first_delay = (hook.next_attempt_at - env.clock.now).total_seconds()
    assert w.run_once()["sent"] == 0  # not due yet
    env.clock.now += timedelta(seconds=first_delay)
    w.run_once()
    with env.state.session() as s:
        hook = s.execute(select(Outbox).where(Outbox.channel == "webhook")).scalar_one()
        second_delay = (hook.next_attempt_at - env.clock.now).total_seconds()
    assert second_delay == 2 * first_delay
    env.clock.now += timedelta(seconds=second_delay)
    assert w.run_once()["sent"] == 1
    assert len(env.hooks.accepted) == 1 and len(env.hooks.requests) == 3


def test_smtp_down_then_up(env: Any) -> None:
    env.settings.incidents.smtp.port = 1  # nothing listens there
    env.alert("SSH brute force", tags=BF)
    w = _worker(env)
    c = w.run_once()
    assert c["retry"] == 1 and c["sent"] == 1  # the webhook went, the e-mail waits
    with env.state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.channel == "email")).scalar_one()
        assert row.status == "pending" and row.last_error
    env.settings.incidents.smtp.port = env.box_port
    env.clock.now += timedelta(minutes=5)
    assert w.run_once()["sent"] == 1
    assert len(env.box.messages) == 1


def test_requeue_unknown(env: Any) -> None:
    env.alert("SSH brute force", tags=BF)
    with env.state.session() as s:
        s.execute(update(Outbox).where(Outbox.channel == "email").values(status="unknown"))
        oid = s.execute(select(Outbox.id).where(Outbox.channel == "email")).scalar_one()
    w = _worker(env)
    assert w.requeue(oid)
    w.run_once()
    assert len(env.box.messages) == 1
    assert not w.requeue(oid)  # a sent row cannot be requeued


def test_agency_is_told_when_incident_becomes_serious(env: Any) -> None:
    env.alert("Odd request", level="medium", dst="10.10.2.9")
    w = _worker(env)
    w.run_once()
    assert len(env.box.messages) == 1
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        env.engine.override_serious(s, inc, True, "patient data involved", "alice")
    w.run_once()
    assert len(env.box.messages) == 2
    subject = env.box.messages[1][1]["Subject"]
    assert "CẬP NHẬT" in subject and "NGHIÊM TRỌNG" in subject
    assert "Thông báo ban đầu sự cố nghiêm trọng (trong 24 giờ)" in env.box.messages[1][1].get_content()
    with env.state.session() as s:
        inc = s.execute(select(Incident)).scalar_one()
        env.engine.override_serious(s, inc, True, "still serious", "alice")
    w.run_once()
    assert len(env.box.messages) == 2  # no new notice without a change of assessment


def test_default_worker_escalates_too(env: Any) -> None:
    """A worker built without ticks (as the service runtime does) still escalates overdue notices."""
    env.alert("SSH brute force", tags=BF)
    w = OutboxWorker(env.settings, env.state, clock=env.clock)
    w.run_once()
    env.clock.now += timedelta(minutes=16)
    w.run_once()
    w.run_once()
    assert [r for r, _ in env.box.messages] == [["an.nv@sotttt.haiphong.gov.vn"], ["binh.tt@sotttt.haiphong.gov.vn"]]
