"""Layer 4 without waiting for a person: serious incidents are reported to the national centre once.

The regulatory profiles give serious incidents the shortest deadlines (an initial notice
within 24 hours in the 2026 regime), so when ``sharing.enabled`` and
``sharing.auto_share_serious`` are on, every open incident flagged serious, by the
engine or by an analyst's override, is queued for every enabled destination as soon
as the delivery worker's next tick sees it. Other incidents go up when an analyst
decides (``soc share push`` or ``POST /api/v1/incidents/{id}/share``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from soc.config import Settings
from soc.storage.models import Incident
from soc.storage.state import State

log = logging.getLogger("soc.sharing")
OPEN = ("new", "triage", "investigating", "contained")


def share_serious_pending(settings: Settings, state: State, inventory: Any = None) -> Any:
    """A delivery-worker tick: queue serious incidents that have no layer-4 status yet; returns how many."""

    def tick(now: datetime | None = None) -> int:
        if not (settings.sharing.enabled and settings.sharing.auto_share_serious):
            return 0
        from soc.sharing.taxii_push import queue_incident

        queued = 0
        with state.session() as s:
            rows = s.execute(select(Incident).where(Incident.serious.is_(True), Incident.status.in_(OPEN))).scalars()
            for inc in rows:
                if ((inc.data or {}).get("layer4") or {}).get("status") not in (None, "not_reported"):
                    continue
                try:
                    queue_incident(s, inc.id, settings, inventory=inventory)
                    state.audit("soc", "sharing.auto_queue", inc.ref, session=s, reason="serious incident")
                    queued += 1
                except Exception:
                    log.exception("could not queue serious incident %s for the national centre", inc.ref)
        return queued

    return tick


def cef_alert_hook(settings: Settings) -> Any:
    """A pipeline alert hook forwarding alerts as CEF to every ``syslog_cef`` destination with
    ``forward_alerts = true``; ``None`` when there is none. Forwarding problems are logged, never raised:
    the alerts are already stored and the SIEM on the other side can be re-fed from them."""
    if not settings.sharing.enabled:
        return None
    from soc.sharing.cef import forward_alerts
    from soc.sharing.destinations import destinations

    names = [d.name for d in destinations(settings.sharing)
             if d.enabled and d.channel == "syslog_cef" and d.forward_alerts]
    if not names:
        return None

    def hook(session: Any, rows: list[Any]) -> None:
        alerts = [r.data for r in rows if r.count == 1]  # a repeat of a de-duplicated alert is not re-sent
        for name in names:
            try:
                forward_alerts(alerts, settings, name)
            except Exception:
                log.exception("CEF forwarding of %d alert(s) to %s failed", len(alerts), name)

    return hook
