"""Playbook check-off for the incident page: which response steps are done, by whom and when.

The checked steps live in the incident's JSON ``data["steps_done"]`` (step id ->
``{"by", "at"}``), so no migration is needed; every change is written to the
incident timeline and the audit log. SOC staff (admin, analyst) may tick any
step; an agency officer only the layer-1 (on-site) steps of their own agency's
incidents. Other agencies' incidents answer 404 so that they stay invisible.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from soc.api.deps import get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext
from soc.incidents.lifecycle import add_timeline
from soc.incidents.service import get_engine
from soc.storage.models import Incident

router = APIRouter(tags=["incidents"])

READ = ("admin", "analyst", "auditor", "agency")
WRITE = ("admin", "analyst", "agency")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    done: bool


def _visible(s: Session, incident_id: int, who: Principal) -> Incident:
    inc = s.get(Incident, incident_id)
    if inc is None or not who.can_see_agency(inc.agency_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"incident {incident_id} not found")
    return inc


def steps_done(inc: Incident) -> dict[str, Any]:
    done = (inc.data or {}).get("steps_done")
    return dict(done) if isinstance(done, dict) else {}


@router.get("/incidents/{incident_id}/steps")
def get_steps(incident_id: int, who: Principal = Depends(require_role(*READ)),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """The incident's playbook steps, each with ``done`` (and who ticked it, when)."""
    engine = get_engine(ctx)
    with ctx.state.session() as s:
        inc = _visible(s, incident_id, who)
        done = steps_done(inc)
        pb = engine.playbook(inc.category)
        return {"incident_id": inc.id, "category": pb.category,
                "steps": [{"id": st.id, "layer": st.layer, "type": st.type, "title": st.title.model_dump(),
                           "due_minutes": st.due_minutes, "done": st.id in done,
                           "done_by": (done.get(st.id) or {}).get("by"), "done_at": (done.get(st.id) or {}).get("at")}
                          for st in pb.steps]}


@router.post("/incidents/{incident_id}/steps/{step_id}")
def check_step(incident_id: int, step_id: str, body: StepIn, who: Principal = Depends(require_role(*WRITE)),
               ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Tick (``done: true``) or untick a playbook step; audited and put on the incident timeline."""
    engine = get_engine(ctx)
    with ctx.state.session() as s:
        inc = _visible(s, incident_id, who)
        step = next((st for st in engine.playbook(inc.category).steps if st.id == step_id), None)
        if step is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"playbook of incident {inc.ref} ({inc.category}) has no step {step_id!r}")
        if who.role == "agency" and step.layer != 1:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"agency officers may only tick layer-1 steps; step {step_id!r} is layer {step.layer}")
        done = steps_done(inc)
        changed = (step_id in done) != body.done
        if body.done and step_id not in done:
            done[step_id] = {"by": who.name, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        elif not body.done:
            done.pop(step_id, None)
        if changed:
            data = dict(inc.data or {})
            data["steps_done"] = done
            inc.data = data  # reassign: the JSON column does not track in-place changes
            add_timeline(s, inc.id, who.name, "playbook:step", step=step_id, done=body.done)
            ctx.state.audit(who.name, "incident.step", inc.ref, session=s, step=step_id, done=body.done)
        return {"incident_id": inc.id, "step": step_id, "done": body.done, "changed": changed,
                "steps_done": sorted(done)}
