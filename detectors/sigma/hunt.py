"""Run rules over stored events with the streaming engine, so hunts give exactly streaming's alerts.

Parquet store: DuckDB reads ``<data_dir>/events/day=*/dataset=*/*.parquet`` (Hive
partitions) and returns the ``doc`` column (the whole ECS event as JSON) in time
order; the engine processes each document as if it had just arrived.
Elasticsearch store: the rule is converted with pySigma's Lucene backend and our
field mapping to narrow the search, and the engine re-checks every hit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from .engine import SigmaEngine


def stored_events(events_dir: Path, start: datetime | None, end: datetime | None,
                  batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Events of the Parquet store between ``start`` (inclusive) and ``end`` (exclusive), oldest first."""
    import duckdb

    files = list(events_dir.glob("day=*/**/*.parquet"))
    if not files:
        return
    glob = str(events_dir / "**" / "*.parquet")
    where: list[str] = []
    params: list[Any] = []
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
        where.append("day >= ?")
        params.append(start.strftime("%Y-%m-%d"))
    if end is not None:
        where.append("ts < ?")
        params.append(end)
        where.append("day <= ?")
        params.append(end.strftime("%Y-%m-%d"))
    sql = f"SELECT doc FROM read_parquet(?, hive_partitioning=true, union_by_name=true)" \
          f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY ts"
    con = duckdb.connect()
    try:
        cur = con.execute(sql, [glob, *params])
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            for (doc,) in rows:
                try:
                    ev = json.loads(doc)
                except (TypeError, ValueError):
                    continue
                if isinstance(ev, dict):
                    yield ev
    finally:
        con.close()


def hunt(engine: SigmaEngine, events: Iterator[dict[str, Any]], flush_at: datetime | None = None,
         progress: Any = None) -> Iterator[dict[str, Any]]:
    """Alerts of ``engine`` over ``events``, then those of windows still open at the end."""
    for ev in events:
        yield from engine.process(ev)
        if progress is not None:
            progress()
    yield from engine.flush(flush_at or datetime.max.replace(year=9000))


def es_events(url: str, index: str, rule_text: str, start: datetime | None, end: datetime | None,
              api_key: str | None = None, size: int = 10_000) -> Iterator[dict[str, Any]]:
    """Events from Elasticsearch matching the converted rule (Lucene), oldest first."""
    from elasticsearch import Elasticsearch

    from .convert import convert

    queries = convert(rule_text, "lucene")
    es = Elasticsearch(url, api_key=api_key) if api_key else Elasticsearch(url)
    rng: dict[str, Any] = {}
    if start is not None:
        rng["gte"] = start.isoformat()
    if end is not None:
        rng["lt"] = end.isoformat()
    for q in queries:
        must: list[dict[str, Any]] = [{"query_string": {"query": q}}]
        if rng:
            must.append({"range": {"@timestamp": rng}})
        resp = es.search(index=index, query={"bool": {"must": must}}, size=size, sort=[{"@timestamp": "asc"}])
        for hit in resp["hits"]["hits"]:
            yield hit["_source"]
