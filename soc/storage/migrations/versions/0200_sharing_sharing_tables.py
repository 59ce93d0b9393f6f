"""sharing tables: intel indicators and feeds, shared STIX objects, layer-4 deliveries

Revision ID: 0200_sharing
Revises: 0001_core
Create Date: 2026-12-01 14:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import soc.storage.models

revision: str = "0200_sharing"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("sharing",)
depends_on: str | Sequence[str] | None = None

_TS = soc.storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "intel_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("stix_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("valid_from", _TS(), nullable=True),
        sa.Column("valid_until", _TS(), nullable=True),
        sa.Column("first_seen", _TS(), nullable=False),
        sa.Column("last_seen", _TS(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("intel_indicators") as b:
        b.create_index("ix_intel_indicators_feed", ["feed"])
        b.create_index("ix_intel_indicators_kind", ["kind"])
        b.create_index("ix_intel_indicators_valid_until", ["valid_until"])

    op.create_table(
        "intel_feeds",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("last_pull_at", _TS(), nullable=True),
        sa.Column("last_ok_at", _TS(), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("indicators", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )

    op.create_table(
        "shared_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(length=32), nullable=False),
        sa.Column("stix_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("date_added", _TS(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("collection", "stix_id", "version", name="uq_shared_objects_version"),
    )
    with op.batch_alter_table("shared_objects") as b:
        b.create_index("ix_shared_objects_stix_id", ["stix_id"])
        b.create_index("ix_shared_objects_agency_id", ["agency_id"])
        b.create_index("ix_shared_objects_incident_id", ["incident_id"])
        b.create_index("ix_shared_objects_coll_added", ["collection", "date_added"])

    op.create_table(
        "share_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_status_id", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("updated_at", _TS(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "destination", "bundle_id", name="uq_share_delivery"),
    )
    with op.batch_alter_table("share_deliveries") as b:
        b.create_index("ix_share_deliveries_incident_id", ["incident_id"])


def downgrade() -> None:
    op.drop_table("share_deliveries")
    op.drop_table("shared_objects")
    op.drop_table("intel_feeds")
    op.drop_table("intel_indicators")
