"""Wiring for a running process: one engine per application context, and the delivery worker.

``soc run`` (the lead's wiring) does::

    engine = get_engine(ctx)
    pipeline = Pipeline(..., alert_hooks=[engine.on_alerts])
    worker = start_delivery(ctx)   # background thread: sends the outbox, escalates overdue notices
    ...
    worker.stop()
"""

from __future__ import annotations

from typing import Any

from soc.incidents.delivery import OutboxWorker
from soc.incidents.engine import IncidentEngine


def get_engine(ctx: Any) -> IncidentEngine:
    """The context's engine (built on first use; playbooks and profile validated then)."""
    eng = ctx.extras.get("incidents.engine")
    if eng is None and isinstance(ctx.extras.get("incidents"), IncidentEngine):
        eng = ctx.extras["incidents.engine"] = ctx.extras["incidents"]  # built by soc.service.build_runtime
    if eng is None:
        eng = IncidentEngine(ctx.settings, ctx.state, ctx.inventory)
        ctx.extras["incidents.engine"] = eng
    return eng  # type: ignore[no-any-return]


def make_worker(ctx: Any) -> OutboxWorker:
    engine = get_engine(ctx)
    return OutboxWorker(ctx.settings, ctx.state, ticks=[engine.escalate_due])


def start_delivery(ctx: Any) -> OutboxWorker | None:
    """Start the background delivery thread unless ``incidents.delivery_enabled`` is false."""
    if not ctx.settings.incidents.delivery_enabled:
        return None
    worker = make_worker(ctx)
    worker.start()
    ctx.extras["incidents.worker"] = worker
    return worker
