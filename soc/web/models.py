"""Tables of the console: Sigma rule version history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soc.storage.models import Base, utcnow


class RuleVersion(Base):
    """Every saved version of a rule, with its author: the rule editor's history and diff."""

    __tablename__ = "rule_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(1024))
    author: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("rule_id", "version"),)
