"""Layer 3: the periodic report per agency for the independent assessor (HTML, PDF, CSV).

Incidents detected in the period with their times to acknowledge and resolve,
regulatory deadlines met or missed, SLA breaches, and the risks still open at
the end of the period (open incidents, highest entity risk scores).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from statistics import mean
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from soc.incidents.engine import IncidentEngine, IncidentError
from soc.incidents.forms import render_template, to_pdf
from soc.incidents.lifecycle import OPEN_STATES, sla_view
from soc.storage.models import Incident

CSV_COLUMNS = ("ref", "title", "category", "severity", "serious", "status", "t0", "acknowledged_at",
               "resolved_at", "time_to_ack_min", "time_to_resolve_h", "deadlines_missed", "sla_breaches")


def _fmt_duration(seconds: list[float], unit: float, label: str) -> str:
    return f"{mean(seconds) / unit:.1f} {label}" if seconds else "–"


def assessor_report(engine: IncidentEngine, s: Session, agency_id: str, start: date, end: date) -> dict[str, Any]:
    agency = engine.inventory.agencies.get(agency_id)
    if agency is None:
        raise IncidentError(f"unknown agency {agency_id!r}; see `soc incidents agencies` or GET /agencies")
    if end < start:
        raise IncidentError("--to is before --from")
    tz = engine.tz
    lo = datetime.combine(start, time.min, tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC)
    rows = s.execute(select(Incident).where(Incident.agency_id == agency_id, Incident.t0 >= lo, Incident.t0 < hi)
                     .order_by(Incident.t0)).scalars().all()
    now = min(engine.clock(), hi)
    items, ttas, ttrs = [], [], []
    missed = total_deadlines = breaches = 0
    for inc in rows:
        ms = (inc.data or {}).get("milestones") or {}
        ack = datetime.fromisoformat(ms["ack"]) if ms.get("ack") else None
        tta = (ack - inc.t0).total_seconds() if ack else None
        ttr = (inc.resolved_at - inc.t0).total_seconds() if inc.resolved_at else None
        if tta is not None:
            ttas.append(tta)
        if ttr is not None and inc.status != "false_positive":
            ttrs.append(ttr)
        d_missed = 0
        for d in (inc.deadlines or {}).values():
            if not d.get("due"):
                continue
            total_deadlines += 1
            due = datetime.fromisoformat(d["due"])
            met = datetime.fromisoformat(d["met_at"]) if d.get("met_at") else None
            if (met and met > due) or (not met and now > due):
                d_missed += 1
        missed += d_missed
        sla = sla_view(inc, now)
        n_breach = sum(1 for v in sla.values() if v["breached"])
        breaches += n_breach
        items.append({"ref": inc.ref, "title": inc.title, "category": inc.category, "severity": inc.severity,
                      "serious": inc.serious, "status": inc.status, "t0": inc.t0.isoformat(),
                      "t0_local": engine.local(inc.t0), "acknowledged_at": ack.isoformat() if ack else "",
                      "resolved_at": inc.resolved_at.isoformat() if inc.resolved_at else "",
                      "time_to_ack_min": round(tta / 60, 1) if tta is not None else "",
                      "time_to_resolve_h": round(ttr / 3600, 2) if ttr is not None else "",
                      "tta_min": round(tta / 60, 1) if tta is not None else "–",
                      "ttr_h": round(ttr / 3600, 2) if ttr is not None else "–",
                      "deadlines_missed": d_missed, "sla_breaches": n_breach})
    open_rows = s.execute(select(Incident).where(Incident.agency_id == agency_id, Incident.status.in_(OPEN_STATES),
                                                 Incident.t0 < hi).order_by(Incident.t0)).scalars().all()
    l3 = agency.contacts.layer3
    return {
        "org": engine.cfg.soc_name, "generated_local": engine.local(engine.clock()),
        "agency": {"id": agency.id, "name": agency.name, "name_en": agency.name_en},
        "assessor": (f"{l3.organisation} ({l3.email or '-'}); lần đánh giá gần nhất / last: {l3.last_assessment or '-'}; "
                     f"kế tiếp / next: {l3.next_assessment or '-'}") if l3 else "Chưa khai báo / not recorded",
        "period_from": start.isoformat(), "period_to": end.isoformat(), "profile": engine.profile.name,
        "summary": {"total": len(items), "serious": sum(1 for i in items if i["serious"]),
                    "false_positive": sum(1 for i in items if i["status"] == "false_positive"),
                    "by_severity": dict(Counter(i["severity"] for i in items)),
                    "mtta": _fmt_duration(ttas, 60, "phút / min"), "mttr": _fmt_duration(ttrs, 3600, "giờ / h"),
                    "mtta_seconds": mean(ttas) if ttas else None, "mttr_seconds": mean(ttrs) if ttrs else None,
                    "deadlines_missed": missed, "deadlines_total": total_deadlines, "sla_breaches": breaches},
        "incidents": items,
        "open": [{"ref": i.ref, "title": i.title, "severity": i.severity, "status": i.status,
                  "age_days": round((now - i.t0).total_seconds() / 86400, 1)} for i in open_rows],
        "risks": engine.top_risks(s, agency_id),
    }


def render_assessor(report: dict[str, Any], fmt: Literal["html", "pdf", "csv"]) -> bytes:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for i in report["incidents"]:
            w.writerow(i)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel then reads Vietnamese correctly
    html = render_template("assessor.html.j2", r=report)
    return html.encode("utf-8") if fmt == "html" else to_pdf(html)
