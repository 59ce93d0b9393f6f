"""web: indexes for the triage queue's sorts and the dashboard, and planner statistics

The triage queue sorts alerts by last_seen (default), ts or count, usually with a
status filter. Without an index on the sort column SQLite reads every matching
row (~1-2 s with 100k alerts); with one, and with ANALYZE statistics so that the
planner prefers walking it over the status index, the page is ~1 ms.

Revision ID: 0301_web_queue
Revises: 0300_web
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0301_web_queue"
down_revision: str | Sequence[str] | None = "0300_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_last_seen", "alerts", ["last_seen"], unique=False)
    op.create_index("ix_alerts_count", "alerts", ["count"], unique=False)
    # Covering index for the dashboard's per-period aggregates (no need to read the alerts' JSON rows).
    op.create_index("ix_alerts_dashboard", "alerts", ["last_seen", "severity", "agency_id", "rule_name"], unique=False)
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_alerts_dashboard", table_name="alerts")
    op.drop_index("ix_alerts_count", table_name="alerts")
    op.drop_index("ix_alerts_last_seen", table_name="alerts")
