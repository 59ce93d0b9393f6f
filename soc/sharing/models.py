"""Tables of the sharing area: threat-intelligence indicators and feeds, published STIX objects, deliveries.

- ``intel_indicators``: every indicator pulled from a feed or added by hand, one row per (feed, kind,
  value); the matcher builds its in-memory index from the rows still valid;
- ``intel_feeds``: per-feed pull state (cursor, last result, rejects) for ``soc intel list`` and the UI;
- ``shared_objects``: STIX objects our own TAXII server publishes, with the collection, the agency whose
  incident they belong to and their TLP, so that each reader sees only what they may;
- ``share_deliveries``: each layer-4 delivery of an incident (channel, destination, TAXII status id),
  i.e. the four-layer model's "connection status".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soc.storage.models import Base, utcnow


class IntelIndicator(Base):
    __tablename__ = "intel_indicators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    """SHA-1 of ``feed|kind|value``: the upsert key (values such as URLs are too long to index whole)."""
    feed: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    value: Mapped[str] = mapped_column(Text)
    stix_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tlp: Mapped[str] = mapped_column(String(16), default="green")
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class IntelFeed(Base):
    __tablename__ = "intel_feeds"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    last_pull_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status: Mapped[str] = mapped_column(String(16), default="never")
    """never, ok, partial (some objects rejected), failed."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    indicators: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """TAXII ``added_after`` of the next pull (the last ``X-TAXII-Date-Added-Last`` seen)."""
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Last pull's rejects (id and reason, first 50) and counts."""


class SharedObject(Base):
    __tablename__ = "shared_objects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection: Mapped[str] = mapped_column(String(32))
    stix_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    """``modified`` (or ``created``, or the date added for objects with neither)."""
    type: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    tlp: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    date_added: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (UniqueConstraint("collection", "stix_id", "version", name="uq_shared_objects_version"),
                      Index("ix_shared_objects_coll_added", "collection", "date_added"))


class ShareDelivery(Base):
    __tablename__ = "share_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    destination: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    bundle_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending (queued or retrying), sent, partial (server rejected some objects), failed."""
    remote_status_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """TAXII status resource id returned by the server."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("incident_id", "destination", "bundle_id", name="uq_share_delivery"),)
