"""Layer-4 delivery: incident bundles to the national centre's TAXII 2.1 collection, through the outbox.

:func:`queue_incident` exports the incident and writes one outbox row per destination in the caller's
transaction (key ``layer4:<destination>:<incident ref>:<bundle id>``: the bundle id changes only when
the incident changes, so queueing twice sends once). The outbox worker then calls the channel functions
registered by :func:`register_channels`, which retries on network errors with back-off. An unreachable
server therefore delays delivery and loses nothing.

Re-sending is harmless: object ids and versions are fixed, so a TAXII server stores each version once.
A server that answers a re-sent object with a failure ("already present", as medallion does) is checked
against the collection's manifest: objects found there at the version sent count as delivered.
Each attempt's outcome (TAXII status resource id, counts, rejected objects) is recorded in
``share_deliveries`` and, when the incidents area provides it, in the incident's layer-4 status.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soc.config import Settings
from soc.sharing.collections import publish_bundle
from soc.sharing.destinations import Destination, DestinationError, destinations, get_destination
from soc.sharing.models import ShareDelivery
from soc.sharing.stix_export import ExportPolicy, load_incident, stable_bundle

log = logging.getLogger("soc.sharing.taxii")

MEDIA_STIX = "application/stix+json;version=2.1"
MEDIA_TAXII = "application/taxii+json;version=2.1"


class TransientPushError(Exception):
    """The server could not be reached or answered 5xx/408/429: try again later."""


class PermanentPushError(Exception):
    """The server refused the request as such (401/403/404/413/4xx): retrying will not help."""


def _collection(dest: Destination) -> Any:
    from soc.sharing.taxii_client import collection

    return collection(dest.collection_url(), user=dest.username,
                      password=dest.password.get_secret_value() if dest.password else None,
                      verify=dest.verify_tls, timeout=dest.timeout_seconds)


def _http_error(exc: Exception) -> Exception:
    import requests

    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    if isinstance(exc, requests.HTTPError) and code is not None:
        body = ""
        with contextlib.suppress(Exception):  # the body is only a hint for the message
            body = (resp.text or "")[:300] if resp is not None else ""
        if 400 <= code < 500 and code not in (408, 425, 429):
            hint = {401: "check the TAXII user name and password", 403: "the account may not write to this "
                    "collection", 404: "check api_root and collection id", 413: "the bundle is larger than the "
                    "server accepts; lower sharing.max_indicators_per_incident"}.get(code, "")
            return PermanentPushError(f"TAXII server refused the bundle: HTTP {code} {body} {hint}".strip())
        return TransientPushError(f"TAXII server answered HTTP {code} {body}".strip())
    return TransientPushError(f"TAXII server unreachable: {type(exc).__name__}: {exc}")


def _present(coll: Any, wanted: dict[str, str]) -> set[str]:
    """Ids among ``wanted`` (id -> version) that the collection's manifest holds at that version."""
    found: set[str] = set()
    ids = sorted(wanted)
    for i in range(0, len(ids), 50):
        chunk = ids[i:i + 50]
        resp = coll.get_manifest(**{"id": ",".join(chunk), "version": "all"})
        for entry in resp.get("objects", []) if isinstance(resp, dict) else []:
            oid, ver = entry.get("id"), entry.get("version")
            # Objects without modified/created (SCOs) are versioned by the server's date added: any will do.
            if oid in wanted and (not wanted[oid] or _same_ts(ver, wanted[oid])):
                found.add(oid)
    return found


def _same_ts(a: Any, b: Any) -> bool:
    def norm(x: Any) -> str:
        s = str(x or "").replace("Z", "").replace("+00:00", "")
        if "." in s:
            head, frac = s.split(".", 1)
            s = head + "." + frac.rstrip("0")
        return s.rstrip(".")

    return norm(a) == norm(b)


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


def push_bundle(bundle: dict[str, Any], dest: Destination, *, wait_seconds: float = 10) -> dict[str, Any]:
    """POST the bundle's objects to the destination collection; returns the outcome.

    Raises :class:`TransientPushError` (retry later) or :class:`PermanentPushError`.
    """
    import requests

    try:
        coll = _collection(dest)
        status = coll.add_objects(json.dumps(bundle, ensure_ascii=False), wait_for_completion=False)
        if status.status != "complete" and wait_seconds > 0:
            status.wait_until_final(poll_interval=1, timeout=int(wait_seconds))
    except (requests.RequestException, OSError) as exc:
        raise _http_error(exc) from None
    except DestinationError as exc:
        raise PermanentPushError(str(exc)) from None
    except Exception as exc:  # taxii2client raises its own errors for invalid responses
        raise TransientPushError(f"TAXII exchange failed: {type(exc).__name__}: {exc}") from None
    failures = [{"id": f.get("id"), "version": f.get("version"), "message": f.get("message")}
                for f in (status.failures or [])]
    result: dict[str, Any] = {"status_id": status.id, "status": status.status, "total": status.total_count,
                              "success": status.success_count, "failure": status.failure_count,
                              "pending": status.pending_count, "bundle_id": bundle.get("id")}
    if failures:
        versions = {o["id"]: _version(o) for o in bundle.get("objects", []) if o.get("id")}
        wanted = {f["id"]: versions.get(f["id"], "") for f in failures if f.get("id") in versions}
        try:
            present = _present(coll, wanted)
        except requests.RequestException as exc:
            raise _http_error(exc) from None
        result["already_present"] = len(present)
        rejected = [f for f in failures if f.get("id") not in present]
        if rejected:
            result["rejected"] = rejected[:50]
    if status.status != "complete":
        raise TransientPushError(f"TAXII status {status.id} still {status.status} after {wait_seconds}s "
                                 f"({status.pending_count} pending); will check again")
    return result


# -- recording -------------------------------------------------------------------------------------------
def _record(s: Session, incident_id: int, dest: str, channel: str, bundle_id: str | None, status: str,
            detail: dict[str, Any], error: str | None = None) -> ShareDelivery:
    row = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == incident_id,
                                                ShareDelivery.destination == dest,
                                                ShareDelivery.bundle_id == bundle_id)).scalar_one_or_none()
    now = datetime.now(UTC)
    if row is None:
        row = ShareDelivery(incident_id=incident_id, destination=dest, channel=channel, bundle_id=bundle_id,
                            status=status, attempts=0, detail={}, created_at=now)
        s.add(row)
    if status != "pending" or row.status == "pending":
        row.status = status
    if status in ("sent", "partial", "failed", "retrying"):
        row.attempts = (row.attempts or 0) + 1
    row.detail = {**(row.detail or {}), **detail}
    row.remote_status_id = detail.get("status_id") or row.remote_status_id
    row.last_error = error
    row.updated_at = now
    _layer4_hook(s, incident_id, status, {"destination": dest, "channel": channel, **detail,
                                          **({"error": error} if error else {})})
    s.flush()
    return row


#: Our delivery states -> the incident's layer-4 status (``sent`` fulfils the profile's reporting deadlines).
_LAYER4 = {"pending": "queued", "sent": "sent", "partial": "sent", "failed": "failed"}


def _layer4_hook(s: Session, incident_id: int, status: str, detail: dict[str, Any]) -> None:
    """Tell the incidents area (``record_layer4_status``); retries stay in our table only (no timeline noise)."""
    mapped = _LAYER4.get(status)
    if mapped is None:
        return
    try:
        from soc.incidents.engine import record_layer4_status
    except ImportError:  # incidents area absent: share_deliveries alone keeps the status
        return
    safe = {k: v for k, v in detail.items() if k in ("destination", "channel", "status_id", "bundle_id", "success",
                                                     "failure", "already_present", "rejected", "error", "outbox_id")}
    record_layer4_status(s, incident_id, mapped, safe)


_STATES: dict[str, Any] = {}
_STATES_LOCK = threading.Lock()


def _state(settings: Settings) -> Any:
    from soc.storage.state import State

    with _STATES_LOCK:
        st = _STATES.get(settings.state_url)
        if st is None:
            st = _STATES[settings.state_url] = State(settings.state_url, run_migrations=False)
        return st


# -- queueing and channels -----------------------------------------------------------------------------
def _enqueue(s: Session, key: str, channel: str, payload: dict[str, Any], incident_id: int) -> Any:
    try:
        from soc.incidents import delivery
    except ImportError:
        delivery = None  # type: ignore[assignment]
    if delivery is not None:
        return delivery.enqueue(s, key=key, channel=channel, payload=payload, incident_id=incident_id)
    from soc.storage.models import Outbox

    row = s.execute(select(Outbox).where(Outbox.key == key)).scalar_one_or_none()
    if row is None:
        row = Outbox(key=key, channel=channel, payload=payload, incident_id=incident_id, status="pending",
                     next_attempt_at=datetime.now(UTC))
        s.add(row)
        s.flush()
    return row


def queue_incident(s: Session, incident_id: int, settings: Settings, *, inventory: Any = None,
                   only: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Queue the incident for every enabled destination (or those named in ``only``); returns what was queued.

    The bundle, e-mail or CEF lines are built now and stored in the outbox row, so what is sent is what
    was decided at this moment, even if the incident changes before the worker sends it.
    """
    cfg = settings.sharing
    dests = [get_destination(cfg, n) for n in only] if only else [d for d in destinations(cfg) if d.enabled]
    inc, alerts = load_incident(s, incident_id, inventory)
    bundle = stable_bundle(s, inc, alerts, ExportPolicy.from_config(cfg))
    # What goes up is also published on our own TAXII server for the agency and auditors to pull.
    publish_bundle(s, bundle, incident_id=incident_id, agency_id=inc.agency_id)
    out: list[dict[str, Any]] = []
    for d in dests:
        d.check()
        if d.channel == "taxii":
            payload: dict[str, Any] = {"destination": d.name, "incident_id": incident_id, "bundle": bundle}
            channel = "taxii"
        elif d.channel == "syslog_cef":
            from soc.sharing.cef import incident_lines

            payload = {"destination": d.name, "incident_id": incident_id,
                       "lines": incident_lines(inc, alerts, cfg)}
            channel = "syslog_cef"
        else:
            from soc.sharing.email_report import form03_email

            payload = {**form03_email(inc, alerts, settings, bundle), "to": d.email_to,
                       "destination": d.name, "incident_id": incident_id}
            channel = "email"
        key = f"layer4:{d.name}:{inc.ref}:{bundle['id']}"
        row = _enqueue(s, key, channel, payload, incident_id)
        _record(s, incident_id, d.name, d.channel, bundle["id"], "pending", {"outbox_id": row.id, "key": key})
        out.append({"destination": d.name, "channel": d.channel, "outbox_id": row.id, "key": key,
                    "bundle_id": bundle["id"], "objects": len(bundle["objects"])})
    return out


def taxii_channel(payload: dict[str, Any], key: str, settings: Settings) -> dict[str, Any]:
    """Outbox channel ``taxii``: push the stored bundle, record the outcome on the incident."""
    from soc.incidents.delivery import PermanentDeliveryError

    try:
        dest = get_destination(settings.sharing, str(payload.get("destination")))
    except DestinationError as exc:  # destination removed or broken in the configuration: retrying won't help
        raise PermanentDeliveryError(str(exc)) from None
    bundle = payload["bundle"]
    incident_id = int(payload["incident_id"])
    try:
        result = push_bundle(bundle, dest)
    except PermanentPushError as exc:
        with _state(settings).session() as s:
            _record(s, incident_id, dest.name, "taxii", bundle.get("id"), "failed", {}, str(exc))
        raise PermanentDeliveryError(str(exc)) from None
    except TransientPushError as exc:
        with _state(settings).session() as s:
            _record(s, incident_id, dest.name, "taxii", bundle.get("id"), "retrying", {}, str(exc))
        raise
    status = "partial" if result.get("rejected") else "sent"
    with _state(settings).session() as s:
        _record(s, incident_id, dest.name, "taxii", bundle.get("id"), status, result)
    return result


def deliver_now(s: Session, incident_id: int, settings: Settings, destination: str | None = None,
                inventory: Any = None) -> list[dict[str, Any]]:
    """Push the incident to TAXII destinations at once, without the outbox (``soc share push --now``)."""
    cfg = settings.sharing
    dests = [get_destination(cfg, destination)] if destination else [d for d in destinations(cfg)
                                                                      if d.enabled and d.channel == "taxii"]
    inc, alerts = load_incident(s, incident_id, inventory)
    bundle = stable_bundle(s, inc, alerts, ExportPolicy.from_config(cfg))
    out = []
    for d in dests:
        if d.channel != "taxii":
            raise DestinationError(f"destination {d.name!r} is {d.channel}; only TAXII pushes run directly")
        try:
            result = push_bundle(bundle, d)
        except (TransientPushError, PermanentPushError) as exc:
            _record(s, incident_id, d.name, "taxii", bundle["id"], "failed" if isinstance(
                exc, PermanentPushError) else "retrying", {}, str(exc))
            raise
        _record(s, incident_id, d.name, "taxii", bundle["id"], "partial" if result.get("rejected") else "sent",
                result)
        out.append({"destination": d.name, **result})
    return out


def register_channels() -> None:
    """Register ``taxii`` and ``syslog_cef`` with the incidents outbox (``soc run`` calls this once)."""
    from soc.incidents.delivery import register_channel
    from soc.sharing.cef import cef_channel

    register_channel("taxii", taxii_channel, idempotent=True)
    register_channel("syslog_cef", cef_channel, idempotent=False)
