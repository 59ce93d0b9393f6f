"""JSON shapes of incidents, notices and agencies for the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soc.alerts import alert_to_api
from soc.incidents.engine import IncidentEngine
from soc.incidents.lifecycle import TRANSITIONS, sla_view
from soc.incidents.models import Comment, Layer4Report, Notice, TimelineEntry
from soc.inventory import Agency
from soc.storage.models import Alert, Incident, Outbox


def incident_summary(inc: Incident, now: datetime) -> dict[str, Any]:
    data = inc.data or {}
    return {
        "id": inc.id, "ref": inc.ref, "title": inc.title, "category": inc.category, "status": inc.status,
        "severity": inc.severity, "serious": inc.serious, "agency_id": inc.agency_id,
        "queue": "unassigned" if inc.agency_id is None else "agency",
        "system_id": inc.system_id, "system_level": inc.system_level, "entity": inc.entity_value,
        "assignee": inc.assignee, "t0": inc.t0.isoformat(), "first_seen": inc.first_seen.isoformat(),
        "last_seen": inc.last_seen.isoformat(), "updated_at": inc.updated_at.isoformat() if inc.updated_at else None,
        "resolved_at": inc.resolved_at.isoformat() if inc.resolved_at else None, "profile": inc.profile,
        "tactics": inc.tactics, "alert_count": data.get("alert_count", 0), "risk": data.get("risk", 0.0),
        "acknowledged_at": (data.get("milestones") or {}).get("ack"), "sla": sla_view(inc, now),
    }


def notice_to_api(n: Notice, deliveries: list[Outbox]) -> dict[str, Any]:
    return {
        "id": n.id, "incident_id": n.incident_id, "agency_id": n.agency_id, "layer": n.layer, "kind": n.kind,
        "tier": n.tier, "recipient": n.recipient, "emails": n.emails, "webhooks": n.webhooks,
        "language": n.language, "subject": n.subject, "created_at": n.created_at.isoformat(),
        "ack_due_at": n.ack_due_at.isoformat() if n.ack_due_at else None,
        "acked_at": n.acked_at.isoformat() if n.acked_at else None, "acked_by": n.acked_by,
        "escalated_at": n.escalated_at.isoformat() if n.escalated_at else None,
        "deliveries": [{"channel": o.channel, "status": o.status, "attempts": o.attempts,
                        "last_error": o.last_error, "sent_at": o.sent_at.isoformat() if o.sent_at else None}
                       for o in deliveries if o.key in n.outbox_keys],
    }


def notices_with_deliveries(s: Session, notices: list[Notice]) -> list[dict[str, Any]]:
    keys = [k for n in notices for k in n.outbox_keys]
    rows = s.execute(select(Outbox).where(Outbox.key.in_(keys))).scalars().all() if keys else []
    return [notice_to_api(n, list(rows)) for n in notices]


def incident_detail(engine: IncidentEngine, s: Session, inc: Incident, now: datetime) -> dict[str, Any]:
    out = incident_summary(inc, now)
    alerts = s.execute(select(Alert).where(Alert.incident_id == inc.id).order_by(Alert.ts)).scalars().all()
    timeline = s.execute(select(TimelineEntry).where(TimelineEntry.incident_id == inc.id)
                         .order_by(TimelineEntry.ts, TimelineEntry.id)).scalars().all()
    comments = s.execute(select(Comment).where(Comment.incident_id == inc.id).order_by(Comment.id)).scalars().all()
    notices = s.execute(select(Notice).where(Notice.incident_id == inc.id).order_by(Notice.id)).scalars().all()
    l4 = s.execute(select(Layer4Report).where(Layer4Report.incident_id == inc.id).order_by(Layer4Report.id)
                   ).scalars().all()
    agency = engine.inventory.agencies.get(inc.agency_id or "")
    data = inc.data or {}
    deadlines = {}
    for k, d in (inc.deadlines or {}).items():
        due = datetime.fromisoformat(d["due"]) if d.get("due") else None
        met = datetime.fromisoformat(d["met_at"]) if d.get("met_at") else None
        deadlines[k] = {**d, "remaining_seconds": int((due - now).total_seconds()) if due and not met else None,
                        "overdue": bool(due and ((met and met > due) or (not met and now > due)))}
    l3 = agency.contacts.layer3 if agency else None
    out.update({
        "serious_auto": data.get("serious_auto"), "serious_override_reason": inc.serious_override_reason,
        "impacts": data.get("impacts", []), "national_security": data.get("national_security", False),
        "personal_data": data.get("personal_data", False), "entities": data.get("entities", []),
        "summary": data.get("summary"), "form_fields": data.get("form", {}),
        "allowed_transitions": sorted(TRANSITIONS.get(inc.status, ())),
        "playbook": _playbook_view(engine, inc),
        "alerts": [alert_to_api(a, with_events=True) for a in alerts],
        "timeline": [{"ts": t.ts.isoformat(), "actor": t.actor, "kind": t.kind, "detail": t.detail}
                     for t in timeline],
        "comments": [{"id": c.id, "ts": c.ts.isoformat(), "author": c.author, "body": c.body} for c in comments],
        "deadlines": deadlines,
        "layers": {
            "1": {"agency": agency.name if agency else None,
                  "acknowledged_at": (data.get("milestones") or {}).get("ack"),
                  "notices": notices_with_deliveries(s, list(notices))},
            "2": {"status": inc.status, "assignee": inc.assignee, "sla": sla_view(inc, now)},
            "3": {"assessor": l3.organisation if l3 else None, "next_assessment": l3.next_assessment if l3 else None},
            "4": {"status": (data.get("layer4") or {}).get("status", "not_reported"),
                  "history": [{"ts": r.ts.isoformat(), "status": r.status, "detail": r.detail} for r in l4]},
        },
    })
    return out


def _playbook_view(engine: IncidentEngine, inc: Incident) -> dict[str, Any]:
    pb = engine.playbook(inc.category)
    return {"category": pb.category, "title": pb.title.model_dump(),
            "steps": [{"id": st.id, "layer": st.layer, "type": st.type, "title": st.title.model_dump(),
                       "due_minutes": st.due_minutes} for st in pb.steps]}


def agency_to_api(s: Session, a: Agency) -> dict[str, Any]:
    c = a.contacts
    last_l4 = s.execute(select(Layer4Report.ts, Layer4Report.status).join(Incident, Incident.id ==
                        Layer4Report.incident_id).where(Incident.agency_id == a.id)
                        .order_by(Layer4Report.id.desc()).limit(1)).first()
    last_ok = s.execute(select(func.max(Layer4Report.ts)).join(Incident, Incident.id == Layer4Report.incident_id)
                        .where(Incident.agency_id == a.id, Layer4Report.status.in_(("sent", "accepted")))).scalar()
    backlog = s.execute(select(func.count(Outbox.id)).join(Incident, Incident.id == Outbox.incident_id)
                        .where(Incident.agency_id == a.id, Outbox.channel.in_(("taxii", "syslog_cef")),
                               Outbox.status.in_(("pending", "sending")))).scalar()
    open_n = s.execute(select(func.count(Incident.id)).where(
        Incident.agency_id == a.id, Incident.status.in_(("new", "triage", "investigating", "contained")))).scalar()
    return {
        "id": a.id, "name": a.name, "name_en": a.name_en, "address": a.address, "open_incidents": open_n,
        "systems": [{"id": x.id, "name": x.name, "level": x.level, "kind": x.kind, "public": x.public,
                     "ip_ranges": x.ip_ranges, "hosts": x.hosts} for x in a.systems],
        "layers": {
            "1": {"primary": c.layer1.primary.model_dump(mode="json"),
                  "backup": c.layer1.backup.model_dump(mode="json") if c.layer1.backup else None},
            "2": c.layer2.model_dump(mode="json") if c.layer2 else None,
            "3": c.layer3.model_dump(mode="json") if c.layer3 else None,
            "4": {"contact": c.layer4.model_dump(mode="json") if c.layer4 else None,
                  "last_status": {"ts": last_l4[0].isoformat(), "status": last_l4[1]} if last_l4 else None,
                  "last_success": last_ok.isoformat() if last_ok else None, "backlog": backlog},
        },
    }
