"""Incident-area tables: timeline, comments, layer-1 notices, entity risk and layer-4 report status.

The core ``incidents``/``alerts``/``outbox`` tables belong to ``soc.storage.models``;
everything the four-layer workflow adds lives here, on the same ``Base``, with its
own migration branch (``incidents``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from soc.storage.models import Base, utcnow


class TimelineEntry(Base):
    """Every change to an incident, in order: what an auditor replays."""

    __tablename__ = "incident_timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Comment(Base):
    __tablename__ = "incident_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)


class Notice(Base):
    """One notice to one layer-1 tier (primary, backup, SOC lead); acknowledged through a signed link."""

    __tablename__ = "incident_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    agency_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    layer: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(32), default="initial")
    """initial, update, final."""
    tier: Mapped[str] = mapped_column(String(16), default="primary")
    """primary, backup, lead: who it went to in the escalation chain."""
    recipient: Mapped[str] = mapped_column(String(255))
    emails: Mapped[list[Any]] = mapped_column(default=list)
    webhooks: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    subject: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ack_due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    acked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When the escalation check handled this overdue notice (escalated, or nothing left to do because the
    incident was already acknowledged or closed; the timeline says which)."""
    nonce: Mapped[str] = mapped_column(String(32))
    outbox_keys: Mapped[list[Any]] = mapped_column(default=list)


class EntityRisk(Base):
    """Running risk score of an entity (IP, user, host), decaying over time; raised by every alert."""

    __tablename__ = "entity_risk"
    entity: Mapped[str] = mapped_column(String(300), primary_key=True)
    """``<type>:<value>``."""
    agency_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Layer4Report(Base):
    """Status history of an incident's report to the national monitoring system (layer 4)."""

    __tablename__ = "incident_layer4"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
