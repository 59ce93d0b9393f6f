"""Form 03 (Circular 20/2017, initial incident report) as an e-mail, for a centre that takes reports by mail.

The text is in Vietnamese with an English version below it. Values follow the same data-minimisation
policy as the STIX export: only public addresses of the affected system, no user names unless allowed.
The e-mail goes through the incidents area's ``email`` outbox channel (payload ``to/subject/text``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from soc.config import Settings
from soc.sharing.minimise import Minimiser, NetworkSet
from soc.sharing.stix_export import ExportPolicy, IncidentInput, collect_observations, incident_tlp


def _fmt(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt is not None else "-"


def form03_fields(inc: IncidentInput, alerts: Sequence[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    cfg = settings.sharing
    policy = ExportPolicy.from_config(cfg)
    m = Minimiser(NetworkSet.of(cfg.internal_networks), cfg.share_internal_addresses, cfg.share_user_names)
    obs = collect_observations(alerts, policy, m)
    attackers = sorted({o.value for o in obs.values() if o.kind in ("ipv4", "ipv6")})[:50]
    domains = sorted({o.value for o in obs.values() if o.kind == "domain"})[:50]
    form: dict[str, Any] = inc.data["form03"] if isinstance(inc.data.get("form03"), dict) else {}
    return {
        "reporting_organisation": cfg.organisation_name,
        "reporting_email": cfg.organisation_email or settings.incidents.smtp.sender,
        "incident_ref": inc.ref,
        "agency": (inc.agency_name or inc.agency_id) if cfg.share_agency_identity else "Hai Phong city agency",
        "system": (inc.system_name or inc.system_id) if cfg.share_agency_identity else None,
        "security_level": inc.system_level,
        "description": inc.title,
        "detected_at": _fmt(inc.t0),
        "status": inc.status,
        "detection_method": "automated monitoring (SOC)",
        "serious": inc.serious,
        "attacker_addresses": attackers,
        "attacker_domains": domains,
        "keep_confidential": inc.confidential,
        "tlp": incident_tlp(inc, policy).upper(),
        "support_requested": form.get("support_requested"),
        "withheld": dict(m.withheld),
    }


def form03_email(inc: IncidentInput, alerts: Sequence[dict[str, Any]], settings: Settings,
                 bundle: dict[str, Any] | None = None) -> dict[str, Any]:
    f = form03_fields(inc, alerts, settings)
    yes_vi, no_vi = "Có", "Không"
    vi = "\n".join([
        f"BÁO CÁO BAN ĐẦU SỰ CỐ AN TOÀN THÔNG TIN MẠNG (Mẫu 03) — TLP:{f['tlp']}",
        f"Đơn vị báo cáo: {f['reporting_organisation']} ({f['reporting_email']})",
        f"Mã sự cố: {f['incident_ref']}",
        f"Cơ quan chủ quản: {f['agency']}",
        f"Hệ thống bị ảnh hưởng: {f['system'] or '-'} — cấp độ an toàn: {f['security_level'] or '-'}",
        f"Mô tả sơ bộ: {f['description']}",
        f"Thời điểm phát hiện: {f['detected_at']}",
        f"Tình trạng hiện tại: {f['status']}",
        "Cách thức phát hiện: giám sát tự động (SOC)",
        f"Sự cố nghiêm trọng: {yes_vi if f['serious'] else no_vi}",
        f"Địa chỉ IP tấn công: {', '.join(f['attacker_addresses']) or '-'}",
        f"Tên miền liên quan: {', '.join(f['attacker_domains']) or '-'}",
        f"Đề nghị giữ bí mật: {yes_vi if f['keep_confidential'] else no_vi}",
        f"Đề nghị hỗ trợ: {f['support_requested'] or '-'}",
    ])
    en = "\n".join([
        f"INITIAL CYBER INCIDENT REPORT (Form 03) — TLP:{f['tlp']}",
        f"Reporting organisation: {f['reporting_organisation']} ({f['reporting_email']})",
        f"Incident reference: {f['incident_ref']}",
        f"Owning agency: {f['agency']}",
        f"Affected system: {f['system'] or '-'} — security level: {f['security_level'] or '-'}",
        f"Short description: {f['description']}",
        f"Detected at: {f['detected_at']}",
        f"Current status: {f['status']}",
        "How detected: automated monitoring (SOC)",
        f"Serious incident: {'yes' if f['serious'] else 'no'}",
        f"Attacking IP addresses: {', '.join(f['attacker_addresses']) or '-'}",
        f"Related domains: {', '.join(f['attacker_domains']) or '-'}",
        f"Keep confidential: {'yes' if f['keep_confidential'] else 'no'}",
        f"Support requested: {f['support_requested'] or '-'}",
    ])
    if f["withheld"]:
        note = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(f["withheld"].items()))
        vi += f"\nĐã lược bỏ theo chính sách chia sẻ: {note}"
        en += f"\nWithheld under the sharing policy: {note}"
    text = vi + "\n\n---- English ----\n\n" + en
    if bundle is not None:
        text += "\n\n---- STIX 2.1 ----\n\n" + json.dumps(bundle, ensure_ascii=False, indent=1)
    return {"subject": f"[TLP:{f['tlp']}] Báo cáo sự cố / Incident report {f['incident_ref']}: {inc.title}"[:250],
            "text": text, "language": "vi, en", "form03": f}
