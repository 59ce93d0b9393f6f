"""From stored alerts to incidents, and everything that happens to an incident afterwards.

:meth:`IncidentEngine.on_alerts` is the pipeline's alert hook. Related alerts
(same entity or same asset, close in time, ATT&CK tactics that follow one
another) become one incident. The engine rates it (rule level, the asset's
security level, tactic progression), decides "serious" from the active
regulatory profile, starts SLA timers and regulatory deadlines from T0, and
routes it under the four-layer model: layer-1 notices to the owning agency
(with escalation), the SOC queue (layer 2), data for the assessor (layer 3)
and the national report status (layer 4, recorded by the sharing area).

Alerts for addresses in no agency's range become incidents with ``agency_id``
``None``: the "unassigned" queue that the SOC works through. Nothing is dropped.
"""

from __future__ import annotations

import logging
import math
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soc import ecs
from soc.alerts import SEVERITY_ORDER
from soc.config import Settings
from soc.incidents import playbooks as pbmod
from soc.incidents.delivery import enqueue
from soc.incidents.lifecycle import (
    MILESTONE_OF_STATE,
    OPEN_STATES,
    SEVERITY_VI,
    TransitionError,
    add_timeline,
    check_transition,
    met_times,
    sla_due,
)
from soc.incidents.models import Comment, EntityRisk, Layer4Report, Notice
from soc.incidents.playbooks import Playbook, categorise, load_playbooks, precedence
from soc.incidents.profiles import IMPACTS, Profile, load_profile
from soc.incidents.signing import AckSigner, TokenError, signing_key
from soc.inventory import Contact, Inventory
from soc.storage.models import Alert, Incident
from soc.storage.state import State

log = logging.getLogger("soc.incidents")

KILL_CHAIN = ("reconnaissance", "resource_development", "initial_access", "execution", "persistence",
              "privilege_escalation", "defense_evasion", "credential_access", "discovery", "lateral_movement",
              "collection", "command_and_control", "exfiltration", "impact")
RISK_POINTS = {"low": 5.0, "medium": 15.0, "high": 30.0, "critical": 50.0}
MAX_ENTITIES = 50
TIERS = {"layer1.primary": "primary", "layer1.backup": "backup", "soc_lead": "lead"}
FILINGS = ("form03", "final", "cause_scope_remedy", "personal_data_breach")


class IncidentError(Exception):
    """A request the incident workflow refuses; the message says why and what to do."""


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def _sev_index(sev: str) -> int:
    return SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else 1


def _entities(row: Alert) -> list[str]:
    """``type:value`` strings an alert involves: its entity plus addresses, users and hosts of its events."""
    out: list[str] = []
    if row.entity_value:
        out.append(f"{row.entity_type or 'entity'}:{row.entity_value}")
    for ev in (row.data or {}).get("events", [])[:5]:
        if not isinstance(ev, dict):
            continue
        for kind, field in (("ip", "source.ip"), ("user", "user.name"), ("host", "host.name")):
            v = ecs.get(ev, field)
            if isinstance(v, str) and v:
                item = f"{kind}:{v}"
                if item not in out:
                    out.append(item)
    return out


class IncidentEngine:
    """One per process; holds the validated playbooks, the regulatory profile and the link signer."""

    def __init__(self, settings: Settings, state: State, inventory: Inventory, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.state = state
        self.inventory = inventory
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cfg = settings.incidents
        self.playbooks: dict[str, Playbook] = load_playbooks(self.cfg.playbooks_dir)
        self.profile: Profile = load_profile(self.cfg.playbooks_dir, self.cfg.profile)
        self._profiles: dict[str, Profile] = {self.profile.name: self.profile}
        self.signer = AckSigner(signing_key(settings), self.cfg.ack_link_days * 86400)
        self.group_window = timedelta(minutes=self.cfg.group_window_minutes)
        self.tz = settings.tzinfo()
        self.env = pbmod.template_env()
        global _PROFILES_DIR
        _PROFILES_DIR = self.cfg.playbooks_dir

    # -- helpers ------------------------------------------------------------------------------------
    def profile_for(self, inc: Incident) -> Profile:
        name = inc.profile or self.profile.name
        if name not in self._profiles:
            self._profiles[name] = load_profile(self.cfg.playbooks_dir, name)
        return self._profiles[name]

    def playbook(self, category: str) -> Playbook:
        return self.playbooks.get(category) or self.playbooks["default"]

    def local(self, dt: datetime | str | None) -> str:
        if dt is None:
            return "-"
        if isinstance(dt, str):
            dt = datetime.fromisoformat(dt)
        tz = self.tz if isinstance(self.tz, ZoneInfo) else UTC
        return dt.astimezone(tz).strftime("%H:%M %d/%m/%Y (%Z)").replace("(+07)", "(UTC+7)")

    # -- the pipeline hook ----------------------------------------------------------------------------
    def on_alerts(self, session: Session, rows: Sequence[Alert]) -> list[Incident]:
        """Attach each stored alert to an incident (creating one when nothing related is open)."""
        now = self.clock()
        touched: dict[int, Incident] = {}
        for row in rows:
            try:
                with session.begin_nested():  # a failure undoes this alert's incident work only
                    inc = self._route_alert(session, row, now)
            except Exception:
                # An incident problem must not lose the alert (nor the pipeline's batch): the alert stays
                # stored, unlinked, and the failure is logged.
                log.exception("could not attach alert %s to an incident", row.id)
                continue
            if inc is not None:
                touched[inc.id] = inc
        return list(touched.values())

    def _route_alert(self, s: Session, row: Alert, now: datetime) -> Incident | None:
        risk = self._bump_risk(s, row, now)
        if row.incident_id is not None:  # a repeat of an alert already in an incident
            inc = s.get(Incident, row.incident_id)
            if inc is not None:
                self._touch(s, inc, row, now, new_alert=False)
        else:
            inc = self._find_related(s, row)
            if inc is None:
                inc = self._create(s, row, now)
            else:
                row.incident_id = inc.id
                self._touch(s, inc, row, now, new_alert=True)
        if inc is not None and risk > float((inc.data or {}).get("risk") or 0.0):
            inc.data = {**(inc.data or {}), "risk": round(risk, 1)}
        return inc

    def _find_related(self, s: Session, row: Alert) -> Incident | None:
        lo = row.first_seen - self.group_window
        q = select(Incident).where(Incident.status.in_(OPEN_STATES), Incident.last_seen >= lo)
        q = q.where(Incident.agency_id == row.agency_id) if row.agency_id else q.where(Incident.agency_id.is_(None))
        ents = set(_entities(row))
        tactic_idx = [KILL_CHAIN.index(t) for t in row.tactics or [] if t in KILL_CHAIN]
        best: tuple[tuple[int, int, datetime], Incident] | None = None
        for inc in s.execute(q).scalars():
            if inc.first_seen - self.group_window > row.last_seen:
                continue
            same_entity = bool(ents & set((inc.data or {}).get("entities", [])))
            same_asset = bool(row.system_id and inc.system_id == row.system_id)
            if not (same_entity or same_asset):
                continue
            inc_idx = [KILL_CHAIN.index(t) for t in inc.tactics or [] if t in KILL_CHAIN]
            chain = int(bool(tactic_idx and inc_idx and min(tactic_idx) >= max(inc_idx)))
            score = (int(same_entity) * 2 + chain, chain, inc.last_seen)
            if best is None or score > best[0]:
                best = (score, inc)
        return best[1] if best else None

    def _severity(self, inc_sev: str | None, row: Alert, tactics: list[str]) -> str:
        idx = max(_sev_index(inc_sev) if inc_sev else 0, _sev_index(row.severity))
        if (row.system_level or 0) >= 4:
            idx = max(idx, 1)  # a level 4-5 system never has a "low" incident
        if len(tactics) >= 3:
            idx = min(idx + 1, 3)  # the attack is progressing through the kill chain
        return SEVERITY_ORDER[idx]

    def _create(self, s: Session, row: Alert, now: datetime) -> Incident:
        tags = list(((row.data or {}).get("rule") or {}).get("tags") or [])
        category = categorise(row.rule_name, tags, self.playbooks)
        pb = self.playbook(category)
        tactics = [t for t in KILL_CHAIN if t in (row.tactics or [])]
        severity = self._severity(None, row, tactics)
        t0 = _minute(min(row.created_at or now, now))
        ent = f"{row.entity_type}:{row.entity_value}" if row.entity_value else None
        inc = Incident(
            ref=f"tmp-{uuid.uuid4().hex[:20]}", title=(row.rule_name + (f" – {row.entity_value}" if ent else ""))[:255],
            category=category, status="new", severity=severity, serious=False, agency_id=row.agency_id,
            system_id=row.system_id, system_level=row.system_level, entity_value=row.entity_value, t0=t0,
            first_seen=row.first_seen, last_seen=row.last_seen, profile=self.profile.name, tactics=tactics,
            data={"entities": _entities(row)[:MAX_ENTITIES], "alert_count": row.count, "rule_ids": [row.rule_id],
                  "impacts": list(pb.impacts), "national_security": False, "personal_data": False,
                  "milestones": {}, "risk": 0.0, "summary": self._summary(row)},
        )
        s.add(inc)
        s.flush()
        inc.ref = f"HP-{t0.year}-{inc.id:05d}"
        row.incident_id = inc.id
        self._rate(s, inc)
        add_timeline(s, inc.id, "engine", "created", now=now, alert_id=row.id, rule=row.rule_name,
                     category=category, severity=inc.severity, serious=inc.serious, t0=t0.isoformat())
        add_timeline(s, inc.id, "engine", "alert:linked", now=now, alert_id=row.id, rule=row.rule_name)
        self.state.audit("engine", "incident.create", inc.ref, session=s, severity=inc.severity,
                         agency=inc.agency_id, category=category)
        if inc.agency_id is None:
            add_timeline(s, inc.id, "engine", "queue:unassigned", now=now,
                         reason="no agency owns the addresses or hosts of this alert; the SOC assigns it")
        self._maybe_notify(s, inc, now)
        return inc

    @staticmethod
    def _summary(row: Alert) -> str:
        ent = f" – {row.entity_type or 'entity'} {row.entity_value}" if row.entity_value else ""
        return f"{row.rule_name}{ent}"

    def _touch(self, s: Session, inc: Incident, row: Alert, now: datetime, *, new_alert: bool) -> None:
        data = dict(inc.data or {})
        before = (inc.severity, inc.category, inc.serious)
        inc.first_seen = min(inc.first_seen, row.first_seen)
        inc.last_seen = max(inc.last_seen, row.last_seen)
        data["alert_count"] = int(s.execute(select(func.coalesce(func.sum(Alert.count), 0))
                                            .where(Alert.incident_id == inc.id)).scalar() or 0)
        if new_alert:
            ents = list(data.get("entities", []))
            ents.extend(e for e in _entities(row) if e not in ents)
            data["entities"] = ents[:MAX_ENTITIES]
            rules = list(data.get("rule_ids", []))
            if row.rule_id not in rules:
                rules.append(row.rule_id)
            data["rule_ids"] = rules
            inc.tactics = [t for t in KILL_CHAIN if t in set(inc.tactics or []) | set(row.tactics or [])]
            tags = list(((row.data or {}).get("rule") or {}).get("tags") or [])
            cat = categorise(row.rule_name, tags, self.playbooks)
            if precedence(cat) < precedence(inc.category):
                inc.category = cat
                data["impacts"] = sorted(set(data.get("impacts", [])) | set(self.playbook(cat).impacts))
            add_timeline(s, inc.id, "engine", "alert:linked", now=now, alert_id=row.id, rule=row.rule_name)
        inc.data = data
        inc.severity = self._severity(inc.severity, row, inc.tactics or [])
        self._rate(s, inc)
        after = (inc.severity, inc.category, inc.serious)
        if after != before:
            add_timeline(s, inc.id, "engine", "rated", now=now, severity=[before[0], after[0]],
                         category=[before[1], after[1]], serious=[before[2], after[2]])
            self._maybe_notify(s, inc, now)

    def _rate(self, s: Session, inc: Incident) -> None:
        """Serious flag (unless an analyst overrode it), SLA due times and regulatory deadlines."""
        prof = self.profile_for(inc)
        data = dict(inc.data or {})
        impacts = list(data.get("impacts", []))
        if data.get("national_security") and "national_security" not in impacts:
            impacts.append("national_security")
        auto = prof.is_serious(inc.system_level, impacts)
        data["serious_auto"] = auto
        flags_before = (inc.serious, data.get("_flags"))
        if inc.serious_override_reason is None:
            inc.serious = auto
        data["_flags"] = [bool(data.get("national_security")), bool(data.get("personal_data"))]
        pb = self.playbook(inc.category)
        sla = pb.sla[inc.severity]
        data["sla_due"] = sla_due(inc.t0, {"ack": sla.ack, "triage": sla.triage, "contain": sla.contain,
                                           "resolve": sla.resolve})
        inc.data = data
        # the set of applicable deadlines changes only with these flags; otherwise known fulfilments stand
        self.refresh_deadlines(s, inc, requery=(inc.serious, data["_flags"]) != flags_before)

    def refresh_deadlines(self, s: Session, inc: Incident, *, requery: bool = True) -> None:
        """Recompute the incident's deadlines; ``requery=False`` reuses the known fulfilment times
        (enough when nothing that fulfils a deadline happened and the set of deadlines is unchanged)."""
        prof = self.profile_for(inc)
        met: dict[str, str] = {}
        if requery:
            kinds = {k for r in prof.deadlines for k in r.satisfied_by}
            done = met_times(s, inc.id, kinds) if inc.id is not None else {}
            for rule in prof.deadlines:
                times = [done[k] for k in rule.satisfied_by if k in done]
                if times:
                    met[rule.id] = min(times).isoformat()
        else:
            met = {k: v["met_at"] for k, v in (inc.deadlines or {}).items() if v.get("met_at")}
        data = inc.data or {}
        inc.deadlines = prof.compute_deadlines(
            t0=inc.t0, resolved_at=inc.resolved_at, serious=inc.serious,
            national_security=bool(data.get("national_security")), personal_data=bool(data.get("personal_data")),
            met=met)

    # -- entity risk ---------------------------------------------------------------------------------------
    def _decayed(self, r: EntityRisk, now: datetime) -> float:
        hours = max((now - r.updated_at).total_seconds() / 3600, 0.0)
        return r.score * 0.5 ** (hours / self.cfg.risk_half_life_hours)

    def _bump_risk(self, s: Session, row: Alert, now: datetime) -> float:
        """Raise the alert entity's risk score; returns the new score (0 without an entity)."""
        if not row.entity_value:
            return 0.0
        key = f"{row.entity_type or 'entity'}:{row.entity_value}"[:300]
        r = s.get(EntityRisk, key)
        pts = RISK_POINTS.get(row.severity, 10.0) * (1 + math.log10(max(row.count, 1)))
        if r is None:
            r = EntityRisk(entity=key, agency_id=row.agency_id, score=round(pts, 2), alerts=1, updated_at=now)
            s.add(r)
        else:
            r.score = round(self._decayed(r, now) + pts, 2)
            r.alerts += 1
            r.updated_at = now
        return r.score

    def entity_risk(self, s: Session, entities: Sequence[str]) -> float:
        if not entities:
            return 0.0
        now = self.clock()
        rows = s.execute(select(EntityRisk).where(EntityRisk.entity.in_(list(entities)[:MAX_ENTITIES]))).scalars()
        return round(max((self._decayed(r, now) for r in rows), default=0.0), 1)

    def top_risks(self, s: Session, agency_id: str | None, limit: int = 10) -> list[dict[str, Any]]:
        now = self.clock()
        q = select(EntityRisk)
        q = q.where(EntityRisk.agency_id == agency_id) if agency_id else q
        scored = sorted(((self._decayed(r, now), r) for r in s.execute(q).scalars()), key=lambda t: -t[0])
        return [{"entity": r.entity, "score": round(v, 1), "alerts": r.alerts, "updated_at": r.updated_at.isoformat()}
                for v, r in scored[:limit] if v >= 1.0]

    # -- layer 1: notices -------------------------------------------------------------------------------
    def _maybe_notify(self, s: Session, inc: Incident, now: datetime) -> None:
        if inc.agency_id is None or inc.status not in OPEN_STATES:
            return
        pb = self.playbook(inc.category)
        if _sev_index(inc.severity) < _sev_index(pb.notify_min_severity) and not inc.serious:
            return
        first = TIERS[pb.escalation.chain[0]] if pb.escalation.chain else "lead"
        last = (inc.data or {}).get("notified")
        if last is None:
            if s.execute(select(Notice.id).where(Notice.incident_id == inc.id, Notice.kind == "initial")).first():
                return
            kind = "initial"
        elif (inc.serious and not last.get("serious")) or (
                inc.severity == "critical" and last.get("severity") != "critical"):
            kind = "update"  # the agency must learn that the incident became serious or critical
        else:
            return
        self.notify(s, inc, tier=first, kind=kind, now=now)
        inc.data = {**(inc.data or {}), "notified": {"severity": inc.severity, "serious": inc.serious}}

    def _contact(self, inc: Incident, tier: str) -> Contact | None:
        agency = self.inventory.agencies.get(inc.agency_id or "")
        if tier == "lead":
            return Contact(name=self.cfg.soc_lead_name, email=self.cfg.soc_lead_email)
        if agency is None:
            return None
        l1 = agency.contacts.layer1
        return l1.primary if tier == "primary" else l1.backup

    def notice_context(self, inc: Incident, contact: Contact, tier: str, ack_url: str,
                       ack_due: datetime | None) -> dict[str, Any]:
        agency = self.inventory.agencies.get(inc.agency_id or "")
        system = None
        if agency is not None:
            system = next((x for x in agency.systems if x.id == inc.system_id), None)
        prof = self.profile_for(inc)
        pb = self.playbook(inc.category)
        data = inc.data or {}
        return {
            "incident": {"ref": inc.ref, "title": inc.title, "category": inc.category, "severity": inc.severity,
                         "severity_vi": SEVERITY_VI.get(inc.severity, inc.severity), "serious": inc.serious,
                         "status": inc.status, "t0": inc.t0.isoformat(), "t0_local": self.local(inc.t0),
                         "entity": inc.entity_value or "-", "system_name": system.name if system else (inc.system_id or "-"),
                         "system_level": inc.system_level or "-",
                         "agency_name": agency.name if agency else "-", "alert_count": data.get("alert_count", 0),
                         "tactics": ", ".join(inc.tactics or []) or "-", "summary": data.get("summary", inc.title),
                         "url": f"{self.cfg.public_base_url.rstrip('/')}/api/v1/incidents/{inc.id}/forms/final.pdf"},
            "agency": {"id": inc.agency_id or "-", "name": agency.name if agency else "-",
                       "name_en": (agency.name_en or agency.name) if agency else "-"},
            "contact": {"name": contact.name, "tier": tier},
            "profile": {"name": prof.name, "version": prof.version, "authority_vi": prof.authority.vi,
                        "authority_en": prof.authority.en},
            "soc": {"name": self.cfg.soc_name, "email": self.cfg.soc_email, "phone": self.cfg.soc_phone},
            "ack_url": ack_url, "ack_due_local": self.local(ack_due),
            "deadlines": [{"id": k, "label_vi": v["label_vi"], "label_en": v["label_en"], "due": v["due"],
                           "due_local": self.local(v["due"]) if v["due"] else "khi kết thúc ứng cứu / at the end of the response"}
                          for k, v in (inc.deadlines or {}).items()],
            "steps": [{"id": st.id, "vi": st.title.vi, "en": st.title.en, "due_minutes": st.due_minutes}
                      for st in pb.steps_for(1)],
        }

    def ack_url(self, notice: Notice) -> str:
        return f"{self.cfg.public_base_url.rstrip('/')}/api/v1/ack/{self.signer.token(notice.id, notice.nonce)}"

    def notify(self, s: Session, inc: Incident, *, tier: str, kind: str, now: datetime | None = None) -> Notice | None:
        """Queue a layer-1 notice for ``tier`` (email + webhook in the outbox); ``None`` if the tier has no contact."""
        now = now or self.clock()
        contact = self._contact(inc, tier)
        if contact is None:
            add_timeline(s, inc.id, "engine", "notice:skipped", now=now, tier=tier,
                         reason=f"agency {inc.agency_id!r} has no {tier} contact in the inventory")
            return None
        pb = self.playbook(inc.category)
        wants_ack = kind in ("initial", "escalation", "update")
        ack_due = now + timedelta(minutes=pb.sla[inc.severity].ack) if wants_ack else None
        notice = Notice(incident_id=inc.id, agency_id=inc.agency_id, layer=1, kind=kind, tier=tier,
                        recipient=contact.name, language=contact.language, created_at=now, ack_due_at=ack_due,
                        nonce=secrets.token_hex(8))
        s.add(notice)
        s.flush()
        url = self.ack_url(notice) if wants_ack else ""
        tpl = pb.notices.get(kind) or pb.notices["initial"]
        ctx = self.notice_context(inc, contact, tier, url, ack_due)
        subj = {lang: pbmod.render(self.env, getattr(tpl.subject, lang), ctx).strip() for lang in ("vi", "en")}
        body = {lang: pbmod.render(self.env, getattr(tpl.body, lang), ctx) for lang in ("vi", "en")}
        order = ("en", "vi") if contact.language == "en" else ("vi", "en")
        subject = f"{subj[order[0]]} / {subj[order[1]]}"
        sep = "\n\n---------- English version ----------\n\n" if order[0] == "vi" else \
            "\n\n---------- Bản tiếng Việt ----------\n\n"
        text = body[order[0]].rstrip() + sep + body[order[1]].rstrip() + "\n"
        notice.subject = subject[:500]
        emails = [str(contact.email)] if contact.email else []
        cc = [str(c.email) for c in pb.escalation.extra_contacts if c.email]
        hooks = [str(contact.webhook)] if contact.webhook else []
        hooks += [str(c.webhook) for c in pb.escalation.extra_contacts if c.webhook]
        keys = []
        if emails:
            key = f"notice:{notice.id}:email"
            enqueue(s, key=key, channel="email", incident_id=inc.id, now=now,
                    payload={"to": emails, "cc": cc, "subject": subject, "text": text,
                             "language": ", ".join(order)})
            keys.append(key)
        for i, url_h in enumerate(hooks):
            key = f"notice:{notice.id}:webhook:{i}"
            enqueue(s, key=key, channel="webhook", incident_id=inc.id, now=now, payload={"url": url_h, "body": {
                "type": "soc.incident.notice", "notice_id": notice.id, "kind": kind, "tier": tier,
                "incident": ctx["incident"], "agency": ctx["agency"], "deadlines": ctx["deadlines"],
                "ack_url": url, "ack_due": ack_due.isoformat() if ack_due else None,
                "subject": subj, "text": body, "language": contact.language}})
            keys.append(key)
        notice.emails, notice.webhooks, notice.outbox_keys = emails + cc, hooks, keys
        if not keys:  # nobody reachable at this tier: escalate at the next check
            notice.ack_due_at = now if wants_ack else None
            add_timeline(s, inc.id, "engine", "notice:unreachable", now=now, tier=tier, recipient=contact.name)
        add_timeline(s, inc.id, "engine", f"notice:{kind}", now=now, notice_id=notice.id, tier=tier,
                     recipient=contact.name, channels=keys,
                     ack_due=ack_due.isoformat() if ack_due else None)
        return notice

    def escalate_due(self, now: datetime | None = None) -> int:
        """Escalate every unacknowledged notice past its SLA to the next contact; returns how many."""
        now = now or self.clock()
        n = 0
        with self.state.session() as s:
            due = s.execute(select(Notice).where(Notice.acked_at.is_(None), Notice.escalated_at.is_(None),
                                                 Notice.ack_due_at.is_not(None), Notice.ack_due_at <= now)
                            .order_by(Notice.id)).scalars().all()
            for notice in due:
                inc = s.get(Incident, notice.incident_id)
                notice.escalated_at = now
                if inc is None or inc.status not in OPEN_STATES or (inc.data or {}).get("milestones", {}).get("ack"):
                    continue
                chain = [TIERS[c] for c in self.playbook(inc.category).escalation.chain]
                nxt = chain[chain.index(notice.tier) + 1:] if notice.tier in chain else []
                sent = None
                for tier in nxt:
                    sent = self.notify(s, inc, tier=tier, kind="escalation", now=now)
                    if sent is not None:
                        break
                if sent is None:
                    add_timeline(s, inc.id, "engine", "escalation:exhausted", now=now, notice_id=notice.id)
                else:
                    add_timeline(s, inc.id, "engine", "notice:escalated", now=now, from_tier=notice.tier,
                                 to_tier=sent.tier, notice_id=sent.id)
                    self.state.audit("engine", "incident.escalate", inc.ref, session=s, to=sent.tier)
                    n += 1
        return n

    def acknowledge_token(self, token: str, *, via: str = "link") -> tuple[Incident, Notice]:
        """Verify a signed link and record the acknowledgement (idempotent). Raises TokenError."""
        claim = self.signer.verify(token)
        with self.state.session() as s:
            notice = s.get(Notice, claim.notice_id)
            if notice is None or not secrets.compare_digest(notice.nonce, claim.nonce):
                raise TokenError("invalid acknowledgement link")
            inc = s.get(Incident, notice.incident_id)
            assert inc is not None
            self._ack(s, inc, notice, f"{notice.tier}:{notice.recipient}"[:128], via)
            return inc, notice

    def acknowledge(self, s: Session, inc: Incident, actor: str, via: str = "api") -> None:
        """An authenticated agency officer (or analyst) acknowledges every open notice of the incident."""
        notices = s.execute(select(Notice).where(Notice.incident_id == inc.id, Notice.acked_at.is_(None),
                                                 Notice.ack_due_at.is_not(None))).scalars().all()
        if not notices and (inc.data or {}).get("milestones", {}).get("ack"):
            return
        targets: list[Notice | None] = list(notices) if notices else [None]
        for n in targets:
            self._ack(s, inc, n, actor, via)

    def _ack(self, s: Session, inc: Incident, notice: Notice | None, who: str, via: str) -> None:
        now = self.clock()
        if notice is not None:
            if notice.acked_at is not None:
                return
            notice.acked_at, notice.acked_by = now, who
        data = dict(inc.data or {})
        ms = dict(data.get("milestones") or {})
        ms.setdefault("ack", now.isoformat())
        data["milestones"] = ms
        inc.data = data
        add_timeline(s, inc.id, who, "notice:acknowledged", now=now, via=via,
                     notice_id=notice.id if notice else None)
        self.state.audit(who, "incident.acknowledge", inc.ref, session=s, via=via)

    # -- lifecycle (layer 2) ------------------------------------------------------------------------------
    def transition(self, s: Session, inc: Incident, target: str, actor: str, reason: str | None = None) -> None:
        try:
            check_transition(inc.status, target)
        except TransitionError as exc:
            raise IncidentError(str(exc)) from None
        now = self.clock()
        if target == "closed" and inc.status == "resolved":
            missing = [k for k, d in (inc.deadlines or {}).items()
                       if d["anchor"] == "response_end" and not d.get("met_at")]
            if missing:
                raise IncidentError(f"file the final report before closing ({', '.join(missing)}): download it from "
                                    f"/incidents/{inc.id}/forms/final.pdf, send it, then record it with "
                                    "PATCH {\"filed\": \"final\"}")
        old = inc.status
        inc.status = target
        data = dict(inc.data or {})
        ms = dict(data.get("milestones") or {})
        milestone = MILESTONE_OF_STATE.get(target)
        if milestone:
            ms.setdefault(milestone, now.isoformat())
            if milestone in ("contain", "resolve"):
                ms.setdefault("triage", now.isoformat())
        if target in ("resolved", "false_positive"):
            inc.resolved_at = inc.resolved_at or now
        if target in OPEN_STATES and old in ("resolved", "closed", "false_positive"):
            inc.resolved_at = None  # reopened: the response is running again
            ms.pop("resolve", None)
        data["milestones"] = ms
        inc.data = data
        add_timeline(s, inc.id, actor, "status", now=now, from_status=old, to_status=target, reason=reason)
        self.refresh_deadlines(s, inc)
        self.state.audit(actor, "incident.status", inc.ref, session=s, from_status=old, to_status=target,
                         reason=reason)
        if target == "resolved" and inc.agency_id:
            self.notify(s, inc, tier="primary", kind="final", now=now)

    def assign(self, s: Session, inc: Incident, assignee: str | None, actor: str) -> None:
        old = inc.assignee
        inc.assignee = assignee
        add_timeline(s, inc.id, actor, "assignee", from_assignee=old, to_assignee=assignee)
        self.state.audit(actor, "incident.assign", inc.ref, session=s, assignee=assignee)

    def set_agency(self, s: Session, inc: Incident, agency_id: str, actor: str) -> None:
        """Take an incident out of the unassigned queue (or move it) and notify the new owner."""
        agency = self.inventory.agencies.get(agency_id)
        if agency is None:
            raise IncidentError(f"unknown agency {agency_id!r}; see GET /agencies")
        old = inc.agency_id
        inc.agency_id = agency_id
        add_timeline(s, inc.id, actor, "agency", from_agency=old, to_agency=agency_id)
        self.state.audit(actor, "incident.agency", inc.ref, session=s, agency=agency_id)
        self._maybe_notify(s, inc, self.clock())

    def override_serious(self, s: Session, inc: Incident, serious: bool, reason: str, actor: str) -> None:
        if not reason or not reason.strip():
            raise IncidentError("a reason is required to override the serious flag")
        old = inc.serious
        inc.serious = serious
        inc.serious_override_reason = reason.strip()
        add_timeline(s, inc.id, actor, "serious:override", from_serious=old, to_serious=serious, reason=reason)
        self.refresh_deadlines(s, inc)
        self.state.audit(actor, "incident.serious", inc.ref, session=s, serious=serious, reason=reason)
        self._maybe_notify(s, inc, self.clock())

    def set_flags(self, s: Session, inc: Incident, actor: str, *, impacts: list[str] | None = None,
                  national_security: bool | None = None, personal_data: bool | None = None) -> None:
        data = dict(inc.data or {})
        if impacts is not None:
            bad = [i for i in impacts if i not in IMPACTS]
            if bad:
                raise IncidentError(f"unknown impact(s) {bad}; expected some of: {', '.join(IMPACTS)}")
            data["impacts"] = sorted(set(impacts))
        if national_security is not None:
            data["national_security"] = national_security
        if personal_data is not None:
            data["personal_data"] = personal_data
        inc.data = data
        add_timeline(s, inc.id, actor, "flags", impacts=data.get("impacts"),
                     national_security=data.get("national_security"), personal_data=data.get("personal_data"))
        self._rate(s, inc)
        self.state.audit(actor, "incident.flags", inc.ref, session=s, impacts=data.get("impacts"))
        self._maybe_notify(s, inc, self.clock())

    def record_filing(self, s: Session, inc: Incident, what: str, actor: str, reference: str | None = None) -> None:
        """Record that a report/form was filed with the authority (fulfils the matching deadlines)."""
        if what not in FILINGS:
            raise IncidentError(f"unknown filing {what!r}; expected one of: {', '.join(FILINGS)}")
        kind = f"form:{what}" if what in ("form03", "final") else f"report:{what}"
        add_timeline(s, inc.id, actor, kind, reference=reference)
        s.flush()
        self.refresh_deadlines(s, inc)
        self.state.audit(actor, "incident.filed", inc.ref, session=s, what=what, reference=reference)

    def comment(self, s: Session, inc: Incident, author: str, body: str) -> Comment:
        body = body.strip()
        if not body:
            raise IncidentError("empty comment")
        c = Comment(incident_id=inc.id, author=author, body=body[:10000])
        s.add(c)
        s.flush()
        add_timeline(s, inc.id, author, "comment", comment_id=c.id)
        self.state.audit(author, "incident.comment", inc.ref, session=s, comment_id=c.id)
        return c


def record_layer4_status(session: Session, incident_id: int, status: str, detail: dict[str, Any] | None = None,
                         *, engine: IncidentEngine | None = None) -> Layer4Report:
    """Record the national-centre report status of an incident (called by the sharing area).

    ``status``: e.g. ``queued``, ``sent``, ``accepted``, ``rejected``, ``failed``. ``sent``/``accepted``
    fulfil the profile deadlines whose ``satisfied_by`` name ``layer4:<status>``.
    """
    inc = session.get(Incident, incident_id)
    if inc is None:
        raise IncidentError(f"incident {incident_id} not found")
    status = status.strip().lower()[:32]
    rep = Layer4Report(incident_id=incident_id, status=status, detail=dict(detail or {}))
    session.add(rep)
    data = dict(inc.data or {})
    data["layer4"] = {"status": status, "ts": datetime.now(UTC).isoformat(), "detail": dict(detail or {})}
    inc.data = data
    add_timeline(session, incident_id, "sharing", f"layer4:{status}", **dict(detail or {}))
    session.flush()
    if engine is not None:
        engine.refresh_deadlines(session, inc)
    else:
        _refresh_with_profile(session, inc)
    return rep


_PROFILES_DIR: str | None = None
"""Playbooks folder of the last engine built in this process (for callers that have no engine)."""


def _refresh_with_profile(s: Session, inc: Incident) -> None:
    """Recompute deadlines without an engine: the profile comes from this process's engine's folder,
    else from the configuration's."""
    try:
        if _PROFILES_DIR is not None:
            prof = load_profile(_PROFILES_DIR, inc.profile)
        else:
            from soc.config import load_config

            settings = load_config()
            prof = load_profile(settings.incidents.playbooks_dir, inc.profile or settings.incidents.profile)
    except Exception:  # deadlines will be recomputed on the next change; the status itself is recorded
        log.warning("could not load the regulatory profile to refresh deadlines of incident %s", inc.id)
        return
    done = met_times(s, inc.id, {k for r in prof.deadlines for k in r.satisfied_by})
    met = {r.id: min(done[k] for k in r.satisfied_by if k in done).isoformat()
           for r in prof.deadlines if any(k in done for k in r.satisfied_by)}
    data = inc.data or {}
    inc.deadlines = prof.compute_deadlines(t0=inc.t0, resolved_at=inc.resolved_at, serious=inc.serious,
                                           national_security=bool(data.get("national_security")),
                                           personal_data=bool(data.get("personal_data")), met=met)
