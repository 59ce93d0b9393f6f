"""Differential evaluation: our engine vs pysigma-backend-sqlite over the same flat events and rules.

Events are flattened to the field names Sigma rules are written against (EventData
names plus EventID/Channel/Provider_Name/Computer), stored in a SQLite table the
way Zircolite stores them (every column ``TEXT COLLATE NOCASE``), and each rule is
converted by the SQLite backend and run as SQL. Our engine runs the same rules
with logsource and field mapping off (the backend applies neither), so what is
compared is detection semantics alone.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError

from detectors.sigma import SigmaEngine


def _regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    try:
        return re.search(pattern, str(value)) is not None
    except re.error:
        return False


def sqlite_matches(rule_paths: list[Path], events: list[dict[str, Any]]) -> tuple[dict[str, set[int]], dict[str, str]]:
    """rule id -> indices of matching events, per the SQLite backend; plus rule id -> why it was skipped."""
    con = sqlite3.connect(":memory:")
    con.create_function("regexp", 2, _regexp, deterministic=True)
    # SQLite column names are case-insensitive: "Engine version" and "Engine Version" are one column
    canon: dict[str, str] = {}
    for ev in events:
        for k in ev:
            canon.setdefault(k.lower(), k)
    cols = list(canon.values())
    q = lambda c: '"' + c.replace('"', '""') + '"'  # noqa: E731
    con.execute("CREATE TABLE logs (row_id INTEGER, " + ", ".join(f"{q(c)} TEXT COLLATE NOCASE" for c in cols) + ")")
    for i, ev in enumerate(events):
        row: dict[str, Any] = {}
        for k, v in ev.items():
            row.setdefault(canon[k.lower()], v if isinstance(v, (int, float)) or v is None else str(v))
        con.execute(f"INSERT INTO logs (row_id, {', '.join(q(k) for k in row)}) VALUES ({', '.join('?' * (len(row) + 1))})",
                    [i, *row.values()])
    existing = set(canon)
    backend = sqliteBackend()
    out: dict[str, set[int]] = {}
    skipped: dict[str, str] = {}
    for p in rule_paths:
        try:
            coll = SigmaCollection.from_yaml(p.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001
            skipped[str(p)] = f"pySigma: {exc}"
            continue
        for rule in coll.rules:
            rid = str(getattr(rule, "id", "") or "")
            if not hasattr(rule, "detection"):
                continue
            try:
                queries = backend.convert_rule(rule)
            except (SigmaError, NotImplementedError, Exception) as exc:  # noqa: BLE001
                skipped[rid] = f"backend: {type(exc).__name__}: {str(exc)[:120]}"
                continue
            hits: set[int] = set()
            for query in queries:
                sql = str(query).replace("SELECT *", "SELECT row_id", 1)
                for _ in range(50):
                    try:
                        hits.update(r[0] for r in con.execute(sql))
                        break
                    except sqlite3.OperationalError as exc:
                        m = re.search(r"no such column: (.+)$", str(exc))
                        if not m or m.group(1).lower() in existing:
                            skipped[rid] = f"sqlite: {exc}"
                            break
                        con.execute(f"ALTER TABLE logs ADD COLUMN {q(m.group(1))} TEXT COLLATE NOCASE")
                        existing.add(m.group(1).lower())
            out[rid] = hits
    return out, skipped


def engine_matches(rule_paths: list[Path], events: list[dict[str, Any]]) -> tuple[dict[str, set[int]], SigmaEngine]:
    eng = SigmaEngine.from_paths(rule_paths, ignore_logsource=True, field_mapping=False)
    out: dict[str, set[int]] = {r.id: set() for r in eng.compiled_rules}
    for i, ev in enumerate(events):
        for r in eng.matching_rules(ev):
            out[r.id].add(i)
    return out, eng
