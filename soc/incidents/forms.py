"""Regulatory forms filled from the incident, without re-entry: Form 03 (initial report) and the final report.

Everything comes from the incident, its alerts, notices and timeline, the inventory
and the configuration; what only a person knows (support requested, recommendations...)
is set once on the incident (``PATCH /incidents/{id}`` ``form_fields``) and reused.
HTML is rendered from package templates; PDF by WeasyPrint with DejaVu Sans, which has
the Vietnamese diacritics.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

from jinja2 import select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from soc.incidents.engine import IncidentEngine
from soc.incidents.lifecycle import SEVERITY_VI, STATUS_VI
from soc.incidents.models import Comment, Notice, TimelineEntry
from soc.storage.models import Alert, Incident, Outbox

FORMS = ("form03", "final")
FORM_FIELDS = ("support_requested", "recommendations", "resolution", "os_services", "isp", "contact_position",
               "contact_phone", "impact_description")
"""Free-text fields an analyst may set once for the forms."""

_env = SandboxedEnvironment(autoescape=select_autoescape(default=True, default_for_string=True))


def template(name: str) -> str:
    return resources.files("soc.incidents").joinpath("templates", name).read_text(encoding="utf-8")


def render_template(name: str, **ctx: Any) -> str:
    css = Markup(template("base.css"))  # noqa: S704 (our own package stylesheet, not user input)
    return _env.from_string(template(name)).render(css=css, **ctx)


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]


def _public(ranges: list[str]) -> str:
    out = []
    for r in ranges:
        try:
            net = ipaddress.ip_network(r, strict=False)
        except ValueError:
            continue
        if net.is_global:
            out.append(str(net))
    return ", ".join(out) or "Không có địa chỉ IP công cộng đã khai báo / no public IP recorded"


def form_context(engine: IncidentEngine, s: Session, inc: Incident, form: Literal["form03", "final"]) -> dict[str, Any]:
    cfg = engine.cfg
    prof = engine.profile_for(inc)
    pb = engine.playbook(inc.category)
    agency = engine.inventory.agencies.get(inc.agency_id or "")
    system = next((x for x in agency.systems if x.id == inc.system_id), None) if agency else None
    fields = dict((inc.data or {}).get("form") or {})
    ref = next((f for f in prof.forms if f.id == form), None)
    alerts = s.execute(select(Alert).where(Alert.incident_id == inc.id).order_by(Alert.ts)).scalars().all()
    notices = s.execute(select(Notice).where(Notice.incident_id == inc.id).order_by(Notice.id)).scalars().all()
    timeline = s.execute(select(TimelineEntry).where(TimelineEntry.incident_id == inc.id)
                         .order_by(TimelineEntry.ts, TimelineEntry.id)).scalars().all()
    comments = s.execute(select(Comment).where(Comment.incident_id == inc.id).order_by(Comment.id)).scalars().all()
    sent_keys = set(s.execute(select(Outbox.key).where(Outbox.incident_id == inc.id, Outbox.status == "sent"))
                    .scalars())
    impacts = (inc.data or {}).get("impacts") or []
    none = "Chưa khai báo / not recorded"
    notified = []
    for n in notices:
        if n.kind == "final":
            continue
        ok = any(k in sent_keys for k in n.outbox_keys)
        state = ("đã xác nhận / acknowledged " + engine.local(n.acked_at)) if n.acked_at else (
            "đã gửi / sent" if ok else "đang gửi / queued")
        notified.append(f"{n.recipient} ({n.tier}) – {engine.local(n.created_at)} – {state}")
    layer4 = (inc.data or {}).get("layer4")
    if layer4:
        notified.append(f"{prof.national_recipient.vi} / {prof.national_recipient.en}: {layer4.get('status')}")
    first_filing = next((t.ts for t in timeline if t.kind == "form:form03"), None)
    what = [f"{engine.local(t.ts)}: {t.kind} {_brief(t.detail)}" for t in timeline
            if t.kind in ("created", "alert:linked", "status", "notice:acknowledged", "serious:override",
                          "notice:escalated", "layer4:sent", "layer4:accepted")][:60]
    what += [f"{engine.local(c.ts)} {c.author}: {c.body}" for c in comments][:20]
    return {"f": {
        "ref": inc.ref, "form": form,
        "title_vi": ref.title.vi if ref else form, "title_en": ref.title.en if ref else form,
        "legal_basis": ref.legal_basis if ref else ", ".join(prof.legal_basis),
        "generated_local": engine.local(datetime.now(UTC)),
        "confidential": inc.serious or "secret_data_disclosure" in impacts or "personal_data_breach" in impacts,
        "org": {"name": cfg.soc_name, "address": cfg.soc_address, "phone": cfg.soc_phone or none,
                "email": cfg.soc_email},
        "contact": {"name": inc.assignee or cfg.soc_lead_name,
                    "position": fields.get("contact_position") or "Chuyên viên SOC / SOC analyst",
                    "phone": fields.get("contact_phone") or cfg.soc_phone or none, "email": cfg.soc_email},
        "system": {"operator": agency.name if agency else none, "owner": agency.name if agency else none,
                   "name": system.name if system else (inc.system_id or none),
                   "domains": ", ".join(system.hosts) if system and system.hosts else "–",
                   "ips": _public(system.ip_ranges) if system else "–",
                   "level": inc.system_level or (system.level if system else none),
                   "security_provider": cfg.soc_name, "isp": fields.get("isp") or none,
                   "os_services": fields.get("os_services") or none,
                   "purpose": (system.description if system and system.description else
                               (system.kind if system else none))},
        "description": (inc.data or {}).get("summary", inc.title) + f" ({(inc.data or {}).get('alert_count', 0)} "
                       "cảnh báo / alerts)",
        "name": inc.title, "category": inc.category, "category_vi": pb.title.vi, "category_en": pb.title.en,
        "severity": inc.severity, "severity_vi": SEVERITY_VI.get(inc.severity, inc.severity), "serious": inc.serious,
        "impact": fields.get("impact_description") or (", ".join(impacts) if impacts else none),
        "t0_local": engine.local(inc.t0), "status": inc.status, "status_vi": STATUS_VI.get(inc.status, inc.status),
        "detection": "Hệ thống giám sát của SOC (lớp 2) phát hiện qua luật / detected by SOC monitoring rules: "
                     + ", ".join(sorted({a.rule_name for a in alerts})),
        "notified": notified, "support": fields.get("support_requested") or "Không / none",
        "initial_date": engine.local(first_filing or inc.t0),
        "resolved_local": engine.local(inc.resolved_at) if inc.resolved_at else "Chưa kết thúc / ongoing",
        "what_happened": what,
        "resolution": fields.get("resolution") or "; ".join(st.title.vi for st in pb.steps_for(1) + pb.steps_for(2)),
        "recommendations": fields.get("recommendations") or none,
        "alerts": [{"id": a.id, "rule": a.rule_name, "count": a.count, "time": engine.local(a.first_seen)}
                   for a in alerts][:100],
        "footer": f"{prof.authority.vi} – hồ sơ quy định / regulatory profile {prof.name} v{prof.version}",
    }}


def _brief(detail: dict[str, Any]) -> str:
    keep = {k: v for k, v in (detail or {}).items() if k in ("rule", "to_status", "reason", "to_tier", "via")
            and v is not None}
    return " ".join(f"{k}={v}" for k, v in keep.items())


def render_form(engine: IncidentEngine, s: Session, inc: Incident, form: Literal["form03", "final"],
                fmt: Literal["html", "pdf"]) -> bytes:
    html = render_template(f"{form}.html.j2", **form_context(engine, s, inc, form))
    return html.encode("utf-8") if fmt == "html" else to_pdf(html)
