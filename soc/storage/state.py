"""The state database: engine, migrations, sessions and the append-only audit log.

SQLite by default (``<data_dir>/state.db``), PostgreSQL by setting
``storage.state_url``. The schema is created and upgraded by Alembic
migrations (``soc/storage/migrations``), one branch per area, applied with
``upgrade heads`` at start.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from .models import AuditEntry, utcnow

MIGRATIONS = Path(__file__).parent / "migrations"
GENESIS = "0" * 64

_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_APPEND_ONLY_PG = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine_url)
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch, then protect the audit log."""
    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    with engine.begin() as conn:
        stmts = _APPEND_ONLY_SQLITE if engine.dialect.name == "sqlite" else _APPEND_ONLY_PG
        for stmt in stmts:
            conn.execute(text(stmt))


class State:
    """Engine + session factory; one per process."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._audit_lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def audit(self, actor: str, action: str, target: str | None = None, session: Session | None = None,
              **detail: Any) -> None:
        """Append one entry to the hash-chained audit log (in ``session`` if given, so it commits with it)."""
        with self._audit_lock:
            if session is not None:
                append_audit(session, actor, action, target, detail)
                session.flush()
            else:
                with self.session() as s:
                    append_audit(s, actor, action, target, detail)

    def dispose(self) -> None:
        self.engine.dispose()


def _entry_hash(prev: str, ts: str, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> str:
    body = json.dumps([prev, ts, actor, action, target, detail], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def append_audit(s: Session, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> AuditEntry:
    last = s.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    ts = utcnow().replace(microsecond=0)
    detail = json.loads(json.dumps(detail, default=str))
    entry = AuditEntry(ts=ts, actor=actor, action=action, target=target, detail=detail, prev_hash=prev,
                       hash=_entry_hash(prev, ts.isoformat(), actor, action, target, detail))
    s.add(entry)
    return entry


def verify_audit(s: Session) -> tuple[bool, int | None]:
    """Walk the chain; return ``(True, None)`` or ``(False, id of the first bad entry)``."""
    prev = GENESIS
    for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        expected = _entry_hash(prev, e.ts.replace(microsecond=0).isoformat(), e.actor, e.action, e.target, e.detail)
        if e.prev_hash != prev or e.hash != expected:
            return False, e.id
        prev = e.hash
    return True, None
