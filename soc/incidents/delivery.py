"""Reliable delivery of notices: the outbox pattern.

Every outgoing message is first written to the ``outbox`` table (``key`` = an
idempotency key, unique) in the same transaction as the change that caused it,
so nothing is lost if the process dies. :class:`OutboxWorker` then sends:

1. claim: ``pending -> sending`` (conditional UPDATE, committed): only one worker
   sends a row, even with several processes on one database;
2. send through the channel handler;
3. record: ``sending -> sent`` (or back to ``pending`` with exponential back-off,
   or ``failed`` after ``outbox_max_attempts``), committed separately.

A crash between 1 and 3 leaves the row ``sending``. Whether it went out is then
unknown. After ``outbox_sending_timeout_seconds`` the row is recovered: channels
that are idempotent at the receiver (webhooks carry ``Idempotency-Key`` derived
from the key; TAXII objects have fixed ids) are retried with the same key; the
others (email, syslog) become ``unknown`` and are NOT re-sent automatically,
an operator decides (``soc notices requeue``). Unacknowledged notices escalate
anyway, so nothing silently disappears. E-mails carry a ``Message-ID`` derived
from the key, so a manual re-send is recognisable as the same message.

Other areas add channels with :func:`register_channel` (``taxii``, ``syslog_cef``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from soc.config import Settings
from soc.incidents.models import TimelineEntry
from soc.periodic import PeriodicThread
from soc.storage.models import Outbox
from soc.storage.state import State

log = logging.getLogger("soc.incidents.delivery")

ChannelFn = Callable[[dict[str, Any], str, Settings], dict[str, Any]]
"""``fn(payload, key, settings) -> result``; raise to signal failure (it will be retried)."""


class PermanentDeliveryError(Exception):
    """The message can never be delivered as it is (bad address, 4xx): do not retry."""


@dataclass(frozen=True)
class Channel:
    name: str
    fn: ChannelFn
    idempotent: bool
    """True when re-sending with the same key cannot produce a duplicate at the receiver."""


_CHANNELS: dict[str, Channel] = {}


def register_channel(name: str, fn: ChannelFn, *, idempotent: bool = False) -> None:
    """Add or replace the handler of channel ``name`` (``email``, ``webhook``, ``taxii``, ``syslog_cef``...)."""
    _CHANNELS[name] = Channel(name, fn, idempotent)


def channels() -> dict[str, Channel]:
    return dict(_CHANNELS)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def message_id(key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "soc.local"
    return f"<{key_digest(key)[:32]}@{domain}>"


def enqueue(s: Session, *, key: str, channel: str, payload: dict[str, Any], incident_id: int | None = None,
            now: datetime | None = None) -> Outbox:
    """Write one message to the outbox (in the caller's transaction); an existing key is returned unchanged."""
    row = s.execute(select(Outbox).where(Outbox.key == key)).scalar_one_or_none()
    if row is not None:
        return row
    row = Outbox(key=key, channel=channel, payload=payload, incident_id=incident_id, status="pending",
                 next_attempt_at=now or datetime.now(UTC))
    s.add(row)
    s.flush()
    return row


# -- built-in channels ---------------------------------------------------------------------------------
def send_email(payload: dict[str, Any], key: str, settings: Settings) -> dict[str, Any]:
    smtp = settings.incidents.smtp
    to = [str(a) for a in payload.get("to") or []]
    if not to:
        raise PermanentDeliveryError("no recipients")
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    if payload.get("cc"):
        msg["Cc"] = ", ".join(payload["cc"])
    msg["Subject"] = payload.get("subject", "")
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    mid = message_id(key, smtp.sender)
    msg["Message-ID"] = mid
    msg["X-SOC-Key"] = key_digest(key)[:40]
    msg.set_content(payload.get("text", ""), charset="utf-8")
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html", charset="utf-8")
    msg["Content-Language"] = str(payload.get("language") or "vi, en")  # after set_content, which drops Content-*
    recipients = to + [str(a) for a in payload.get("cc") or []]
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=settings.incidents.smtp_timeout_seconds) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
            refused = client.send_message(msg, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"all recipients refused: {sorted(exc.recipients)}") from None
    return {"message_id": mid, "refused": sorted(refused)}


def send_webhook(payload: dict[str, Any], key: str, settings: Settings) -> dict[str, Any]:
    from soc.incidents.signing import signing_key

    url = str(payload.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise PermanentDeliveryError(f"not an http(s) URL: {url!r}")
    body = json.dumps(payload.get("body") or {}, ensure_ascii=False, sort_keys=True).encode()
    sig = hmac.new(signing_key(settings).encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key_digest(key)[:40],
               "X-SOC-Signature": f"sha256={sig}", "User-Agent": "haiphong-soc/1"}
    resp = httpx.post(url, content=body, headers=headers, timeout=settings.incidents.webhook_timeout_seconds)
    if 400 <= resp.status_code < 500 and resp.status_code not in (408, 409, 425, 429):
        raise PermanentDeliveryError(f"webhook refused the notice: HTTP {resp.status_code}")
    if resp.status_code >= 300:
        raise RuntimeError(f"webhook answered HTTP {resp.status_code}")
    return {"status": resp.status_code}


register_channel("email", send_email, idempotent=False)
register_channel("webhook", send_webhook, idempotent=True)


# -- the worker ----------------------------------------------------------------------------------------
class OutboxWorker:
    """Sends what the outbox holds; ``run_once`` for a single pass, ``start``/``stop`` for a background thread."""

    def __init__(self, settings: Settings, state: State, *,
                 ticks: Sequence[Callable[[datetime], Any]] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.state = state
        self.ticks = list(ticks) if ticks is not None else [self._escalate]
        """Called with ``now`` after each pass. Default: escalate overdue layer-1 notices, with an
        incident engine built from ``settings`` on first use; pass ``ticks=[]`` for none."""
        self._escalator: Any = None
        self._escalator_error: str | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        cfg = settings.incidents
        self.max_attempts = cfg.outbox_max_attempts
        self.backoff = cfg.outbox_backoff_seconds
        self.backoff_max = cfg.outbox_backoff_max_seconds
        self.lease = timedelta(seconds=cfg.outbox_sending_timeout_seconds)
        self._loop = PeriodicThread("soc-outbox", self.run_once)

    def _escalate(self, now: datetime) -> None:
        if self._escalator_error is not None:
            return
        if self._escalator is None:
            try:
                from soc.context import load_inventory
                from soc.incidents.engine import IncidentEngine

                self._escalator = IncidentEngine(self.settings, self.state, load_inventory(self.settings))
            except Exception as exc:  # playbooks or inventory broken: delivery goes on, escalation is reported
                self._escalator_error = str(exc)
                log.error("escalation of unacknowledged notices is OFF: %s (run `soc playbooks check`)", exc)
                return
        self._escalator.escalate_due(now)

    def _timeline(self, s: Session, row: Outbox, kind: str, **detail: Any) -> None:
        if row.incident_id is not None:
            s.add(TimelineEntry(incident_id=row.incident_id, actor="outbox", kind=kind,
                                detail={"key": row.key, "channel": row.channel, **detail}))

    def recover(self, now: datetime | None = None) -> dict[str, int]:
        """Handle rows left ``sending`` by a worker that died (their lease ran out)."""
        now = now or self.clock()
        out = {"retried": 0, "unknown": 0}
        with self.state.session() as s:
            stale = s.execute(select(Outbox).where(Outbox.status == "sending", Outbox.next_attempt_at <= now)
                              ).scalars().all()
            for row in stale:
                ch = _CHANNELS.get(row.channel)
                if ch is not None and ch.idempotent:
                    row.status = "pending"
                    row.next_attempt_at = now
                    row.last_error = "delivery interrupted; retrying with the same idempotency key"
                    out["retried"] += 1
                else:
                    row.status = "unknown"
                    row.last_error = ("delivery interrupted after the send began; it may have gone out. Not re-sent "
                                      "automatically: check with the recipient, then `soc notices requeue "
                                      f"{row.id}` if needed")
                    self._timeline(s, row, "delivery:unknown")
                    out["unknown"] += 1
                log.warning("outbox row %s (%s) was left 'sending': %s", row.id, row.channel, row.status)
        return out

    def run_once(self, now: datetime | None = None, *, limit: int = 100) -> dict[str, int]:
        """One pass: recover stale rows, then send what is due. Returns counts."""
        now = now or self.clock()
        counts = {"sent": 0, "retry": 0, "failed": 0, **self.recover(now)}
        with self.state.session() as s:
            due = s.execute(select(Outbox.id).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
                            .order_by(Outbox.id).limit(limit)).scalars().all()
        for oid in due:
            counts[self._deliver(oid, now)] += 1
        for tick in self.ticks:
            try:
                tick(now)
            except Exception:
                log.exception("outbox tick %r failed", tick)
        return counts

    def _deliver(self, oid: int, now: datetime) -> str:
        with self.state.session() as s:
            claimed = s.execute(update(Outbox).where(Outbox.id == oid, Outbox.status == "pending")
                                .values(status="sending", attempts=Outbox.attempts + 1,
                                        next_attempt_at=now + self.lease)).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            return "retry"  # another worker took it
        with self.state.session() as s:
            row = s.get(Outbox, oid)
            assert row is not None
            channel, payload, key, attempts = row.channel, dict(row.payload), row.key, row.attempts
        ch = _CHANNELS.get(channel)
        error: str | None = None
        permanent = False
        result: dict[str, Any] = {}
        if ch is None:
            error = f"no handler registered for channel {channel!r}"
        else:
            try:
                result = ch.fn(payload, key, self.settings) or {}
            except PermanentDeliveryError as exc:
                error, permanent = str(exc), True
            except Exception as exc:  # network, SMTP, receiver errors: retry later
                error = f"{type(exc).__name__}: {exc}"
        with self.state.session() as s:
            row = s.get(Outbox, oid)
            assert row is not None
            if error is None:
                row.status, row.sent_at, row.result, row.last_error = "sent", self.clock(), result, None
                self._timeline(s, row, "delivery:sent", result=result)
                return "sent"
            row.last_error = error[:2000]
            if permanent or attempts >= self.max_attempts:
                row.status = "failed"
                self._timeline(s, row, "delivery:failed", error=error[:500])
                log.error("outbox row %s (%s) failed for good: %s", oid, channel, error)
                return "failed"
            delay = min(self.backoff * 2 ** (attempts - 1), self.backoff_max)
            row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
            log.warning("outbox row %s (%s) attempt %s failed, retry in %ss: %s", oid, channel, attempts, delay, error)
            return "retry"

    def requeue(self, oid: int) -> bool:
        """Operator decision: send an ``unknown`` or ``failed`` row again."""
        with self.state.session() as s:
            n = s.execute(update(Outbox).where(Outbox.id == oid, Outbox.status.in_(("unknown", "failed")))
                          .values(status="pending", next_attempt_at=self.clock(), attempts=0)).rowcount  # type: ignore[attr-defined]
        return n == 1

    # -- background thread ---------------------------------------------------------------------------
    def start(self, interval: float | None = None) -> None:
        self._loop.start(interval if interval is not None else self.settings.incidents.worker_interval_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)
