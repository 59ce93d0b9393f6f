"""Event stores: where normalised ECS events are kept and searched.

:class:`EventStore` is the small interface the pipeline, API and hunts use.
:class:`ParquetEventStore` is the embedded default: Parquet files partitioned by
day and dataset (Spark reads them directly), searched through DuckDB.
``soc.storage.elastic.ElasticEventStore`` is the same interface over Elasticsearch.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from soc.query import FIELD_NAME, QueryError, compile_query, ip_in_cidr

from .columns import table_builder
from .schema import COLUMNS, SCHEMA, WRITE_OPTIONS, partition, to_table


@dataclass
class SearchResult:
    total: int
    events: list[dict[str, Any]]
    took_ms: float = 0.0
    histogram: list[dict[str, Any]] = field(default_factory=list)


class EventStore(Protocol):
    def write(self, events: Sequence[dict[str, Any]]) -> int: ...

    def search(self, query: str = "", start: datetime | None = None, end: datetime | None = None,
               limit: int = 100, offset: int = 0, sort: str = "desc") -> SearchResult: ...

    def iter_events(self, start: datetime | None = None, end: datetime | None = None,
                    query: str = "") -> Iterator[dict[str, Any]]: ...

    def count(self, start: datetime | None = None, end: datetime | None = None) -> int: ...

    def apply_retention(self, days: int, now: datetime | None = None) -> int: ...


class ParquetEventStore:
    """Append-only Parquet files under ``root/day=YYYY-MM-DD/dataset=NAME/``.

    Each :meth:`write` adds one file per (day, dataset) in the batch, written to a
    temporary name and renamed, so readers never see half a file; :meth:`compact`
    merges the small files of past days.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------
    def write(self, events: Sequence[dict[str, Any]]) -> int:
        builder = table_builder()
        for ev in events:
            builder.add(ev)
        table, partitions, _ = builder.finish()
        return self.write_table(table, partitions)

    def write_rows(self, rows: Sequence[list[Any]]) -> int:
        """Store events already turned into rows by :func:`~soc.storage.schema.row_values`."""
        return self.write_table(to_table(list(rows)), [partition(r) for r in rows])

    def write_table(self, table: pa.Table, partitions: Sequence[tuple[str, str]]) -> int:
        """Store a :data:`~soc.storage.schema.SCHEMA` table whose row ``i`` goes to partition
        ``partitions[i]`` = ``(day, dataset)`` (the pipeline's parse workers build both)."""
        if not table.num_rows:
            return 0
        groups: dict[tuple[str, str], list[int]] = {}
        for i, key in enumerate(partitions):
            groups.setdefault(key, []).append(i)
        with self._lock:
            for (day, ds), idx in groups.items():
                part = self.root / f"day={day}" / f"dataset={ds}"
                part.mkdir(parents=True, exist_ok=True)
                name = f"part-{datetime.now(UTC):%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
                tmp = part / f".{name}.tmp"
                pq.write_table(table if len(groups) == 1 else table.take(idx), tmp, **WRITE_OPTIONS)
                tmp.replace(part / name)
        return int(table.num_rows)

    # -- reading ---------------------------------------------------------------------------------
    def _files(self, start: datetime | None, end: datetime | None) -> list[str]:
        files: list[str] = []
        d0 = start.astimezone(UTC).date() if start else None
        d1 = end.astimezone(UTC).date() if end else None
        for daydir in sorted(self.root.glob("day=*")):
            try:
                d = date.fromisoformat(daydir.name[4:])
            except ValueError:
                continue
            if (d0 and d < d0) or (d1 and d > d1):
                continue
            files.extend(str(p) for p in daydir.glob("dataset=*/*.parquet"))
        return files

    def _relation(self, con: duckdb.DuckDBPyConnection, files: list[str]) -> str:
        con.execute("SET TimeZone='UTC'")
        with contextlib.suppress(duckdb.CatalogException):
            con.create_function("ip_in_cidr", ip_in_cidr, ["VARCHAR", "VARCHAR"], "BOOLEAN",  # type: ignore[call-overload]
                                null_handling="special")
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        # Every file is written with SCHEMA (compaction rewrites old ones), so no union_by_name: it costs
        # a schema pass over all files. filename + file_row_number give a stable order among equal times.
        return f"read_parquet([{listing}], hive_partitioning=true, filename=true, file_row_number=true)"

    def _where(self, query: str, start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
        compiled = compile_query(query)
        conds, params = [compiled.sql], list(compiled.params)
        if start:
            conds.append("ts >= ?")
            params.append(start)
        if end:
            conds.append("ts < ?")
            params.append(end)
        return " AND ".join(conds), params

    def search(self, query: str = "", start: datetime | None = None, end: datetime | None = None,
               limit: int = 100, offset: int = 0, sort: str = "desc", histogram: bool = False) -> SearchResult:
        """Events matching ``query`` in ``[start, end)``, newest first; raises ``QueryError`` on a bad query."""
        t0 = datetime.now(UTC)
        where, params = self._where(query, start, end)
        files = self._files(start, end)
        if not files:
            return SearchResult(0, [])
        order = "ASC" if sort == "asc" else "DESC"
        tie = f"filename {order}, file_row_number {order}"
        con = duckdb.connect()
        try:
            rel = self._relation(con, files)
            hist: list[dict[str, Any]] = []
            if histogram:
                span = ((end or datetime.now(UTC)) - (start or datetime.now(UTC) - timedelta(days=1)))
                bucket = "hour" if span <= timedelta(days=3) else "day"
                rows_h = con.execute(
                    f"SELECT date_trunc('{bucket}', ts) AS b, count(*) FROM {rel} WHERE {where} GROUP BY b ORDER BY b",
                    params).fetchall()
                hist = [{"t": r[0].isoformat() if r[0] else None, "count": r[1]} for r in rows_h]
                total = sum(int(r[1]) for r in rows_h)  # one scan gives both the histogram and the total
            else:
                total = con.execute(f"SELECT count(*) FROM {rel} WHERE {where}", params).fetchone()[0]  # type: ignore[index]
            rows: list[Any] = []
            if total and offset < total:
                # Find the time of the last row wanted from the ts column alone, then read whole documents
                # only from there on: reading `doc` for every match is what makes a naive top-N slow.
                k = min(offset + limit, total)
                cut = con.execute(f"SELECT ts FROM {rel} WHERE {where} ORDER BY ts {order} LIMIT 1 OFFSET ?",
                                  [*params, k - 1]).fetchone()
                bound = ""
                extra: list[Any] = []
                if cut is not None and cut[0] is not None:
                    bound = f" AND ts {'>=' if order == 'DESC' else '<='} ?"
                    extra = [cut[0]]
                rows = con.execute(
                    f"SELECT doc FROM {rel} WHERE {where}{bound} ORDER BY ts {order}, {tie} LIMIT ? OFFSET ?",
                    [*params, *extra, int(limit), int(offset)]).fetchall()
        finally:
            con.close()
        took = (datetime.now(UTC) - t0).total_seconds() * 1000
        return SearchResult(int(total), [json.loads(r[0]) for r in rows], took, hist)

    def top_values(self, field_name: str, query: str = "", start: datetime | None = None,
                   end: datetime | None = None, n: int = 10) -> list[tuple[str, int]]:
        from .schema import FIELD_TO_COLUMN

        if not FIELD_NAME.fullmatch(field_name):
            # The name becomes part of a JSON path in SQL: only plain ECS names may pass.
            raise QueryError(f"{field_name[:80]!r} is not a field name (letters, digits, '_', '.', '@', '-')")
        col = FIELD_TO_COLUMN.get(field_name)
        if col is None:
            path = "$." + ".".join(f'"{p}"' for p in field_name.split("."))
            col = f"json_extract_string(doc, '{path}')"
        where, params = self._where(query, start, end)
        files = self._files(start, end)
        if not files:
            return []
        con = duckdb.connect()
        try:
            rel = self._relation(con, files)
            rows = con.execute(
                f"SELECT CAST({col} AS VARCHAR) v, count(*) c FROM {rel} WHERE {where} AND {col} IS NOT NULL "
                f"GROUP BY v ORDER BY c DESC LIMIT ?", [*params, n]).fetchall()
        finally:
            con.close()
        return [(r[0], int(r[1])) for r in rows]

    def iter_events(self, start: datetime | None = None, end: datetime | None = None,
                    query: str = "", batch: int = 5000) -> Iterator[dict[str, Any]]:
        """All matching events in event-time order (for hunts and backtests)."""
        where, params = self._where(query, start, end)
        files = self._files(start, end)
        if not files:
            return
        con = duckdb.connect()
        try:
            rel = self._relation(con, files)
            cur = con.execute(f"SELECT doc FROM {rel} WHERE {where} ORDER BY ts ASC, filename, file_row_number",
                              params)
            while chunk := cur.fetchmany(batch):
                for (doc,) in chunk:
                    yield json.loads(doc)
        finally:
            con.close()

    def count(self, start: datetime | None = None, end: datetime | None = None) -> int:
        files = self._files(start, end)
        if not files:
            return 0
        where, params = self._where("", start, end)
        con = duckdb.connect()
        try:
            rel = self._relation(con, files)
            return int(con.execute(f"SELECT count(*) FROM {rel} WHERE {where}", params).fetchone()[0])  # type: ignore[index]
        finally:
            con.close()

    def stats(self) -> dict[str, Any]:
        files = self._files(None, None)
        size = sum(Path(f).stat().st_size for f in files)
        return {"backend": "parquet", "path": str(self.root), "files": len(files), "bytes": size,
                "days": len(list(self.root.glob("day=*")))}

    # -- maintenance -----------------------------------------------------------------------------
    def apply_retention(self, days: int, now: datetime | None = None) -> int:
        """Delete day partitions older than ``days``; returns how many were removed."""
        cutoff = (now or datetime.now(UTC)).astimezone(UTC).date() - timedelta(days=days)
        removed = 0
        with self._lock:
            for daydir in self.root.glob("day=*"):
                try:
                    d = date.fromisoformat(daydir.name[4:])
                except ValueError:
                    continue
                if d < cutoff:
                    shutil.rmtree(daydir, ignore_errors=True)
                    removed += 1
        return removed

    def compact(self, before: date | None = None, min_files: int = 8) -> int:
        """Merge the files of each (day, dataset) partition older than ``before`` into one."""
        before = before or datetime.now(UTC).date()
        merged = 0
        with self._lock:
            for part in self.root.glob("day=*/dataset=*"):
                try:
                    d = date.fromisoformat(part.parent.name[4:])
                except ValueError:
                    continue
                files = sorted(part.glob("*.parquet"))
                if d >= before or len(files) < min_files:
                    continue
                table = pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files]).sort_by("ts")
                name = f"compact-{uuid.uuid4().hex[:8]}.parquet"
                tmp = part / f".{name}.tmp"
                pq.write_table(table, tmp, **WRITE_OPTIONS)
                tmp.replace(part / name)
                for f in files:
                    f.unlink()
                merged += 1
        return merged


def columns() -> list[str]:
    return list(COLUMNS)
