"""The columnar layout of stored events (Parquet), shared by DuckDB search and Spark jobs.

Each event is one row: a set of typed columns for the fields that searches,
dashboards and the anomaly model read most, plus ``doc``, the whole ECS
document as JSON text, so that nothing is lost and any field can be reached.

Files live under ``<data_dir>/events/day=YYYY-MM-DD/dataset=<event.dataset>/*.parquet``
(Hive partitioning), which both Spark (``spark.read.parquet(dir)``) and DuckDB
(``read_parquet('.../**/*.parquet', hive_partitioning=true)``) understand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

#: column name -> (ECS field, arrow type). Order is the file's column order.
COLUMNS: dict[str, tuple[str, pa.DataType]] = {
    "ts": ("@timestamp", pa.timestamp("ms", tz="UTC")),
    "event_id": ("event.id", pa.string()),
    "event_kind": ("event.kind", pa.string()),
    "event_category": ("event.category", pa.string()),
    "event_type": ("event.type", pa.string()),
    "event_action": ("event.action", pa.string()),
    "event_outcome": ("event.outcome", pa.string()),
    "event_code": ("event.code", pa.string()),
    "source_ip": ("source.ip", pa.string()),
    "source_port": ("source.port", pa.int64()),
    "destination_ip": ("destination.ip", pa.string()),
    "destination_port": ("destination.port", pa.int64()),
    "network_transport": ("network.transport", pa.string()),
    "network_protocol": ("network.protocol", pa.string()),
    "source_bytes": ("source.bytes", pa.int64()),
    "destination_bytes": ("destination.bytes", pa.int64()),
    "source_packets": ("source.packets", pa.int64()),
    "destination_packets": ("destination.packets", pa.int64()),
    "event_duration": ("event.duration", pa.int64()),
    "url_original": ("url.original", pa.string()),
    "url_domain": ("url.domain", pa.string()),
    "destination_domain": ("destination.domain", pa.string()),
    "http_method": ("http.request.method", pa.string()),
    "http_status": ("http.response.status_code", pa.int64()),
    "user_agent": ("user_agent.original", pa.string()),
    "user_name": ("user.name", pa.string()),
    "host_name": ("host.name", pa.string()),
    "process_name": ("process.name", pa.string()),
    "observer_name": ("observer.name", pa.string()),
    "agency_id": ("soc.agency.id", pa.string()),
    "system_id": ("soc.system.id", pa.string()),
    "system_level": ("soc.system.level", pa.int64()),
    "input": ("soc.input", pa.string()),
    "message": ("message", pa.string()),
    "doc": ("", pa.string()),
}

#: ECS field -> column, for query compilation.
FIELD_TO_COLUMN: dict[str, str] = {f: c for c, (f, _) in COLUMNS.items() if f}

SCHEMA = pa.schema([(name, typ) for name, (_, typ) in COLUMNS.items()])

_INT_COLUMNS = {c for c, (_, t) in COLUMNS.items() if pa.types.is_integer(t)}


def parse_ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    v = value.replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_PATHS: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (col, tuple(field.split(".")), "ts" if col == "ts" else "int" if col in _INT_COLUMNS else "str")
    for col, (field, _) in COLUMNS.items() if col != "doc")


def _clean(text: str) -> str:
    """Text as Parquet can store it: lone surrogates (from invalid input) become escapes."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def to_row(doc: dict[str, Any]) -> dict[str, Any]:
    """One event as a row of :data:`COLUMNS` (lists are joined with commas; bad numbers become null).

    On the hot path: paths are split once at import and walked with plain dict lookups.
    """
    row: dict[str, Any] = {}
    for col, parts, kind in _PATHS:
        v: Any = doc.get(parts[0])
        for p in parts[1:]:
            if v.__class__ is not dict:
                v = None
                break
            v = v.get(p)
        if v is None and len(parts) > 1:
            v = doc.get(".".join(parts))  # flat dotted keys, as some JSON inputs carry
        if v is None:
            row[col] = None
        elif kind == "ts":
            row[col] = parse_ts(v)
        elif kind == "int":
            try:
                n = int(v) if not isinstance(v, bool) else None
            except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
                n = None
            row[col] = n if n is not None and -(2**63) <= n < 2**63 else None
        elif isinstance(v, str):
            row[col] = _clean(v)
        elif isinstance(v, list):
            row[col] = _clean(",".join(str(x) for x in v))
        else:
            row[col] = _clean(str(v))
    try:
        text = orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        # Lone surrogates (invalid input kept as it came) or exotic values: the slow, escaping path.
        text = json.dumps(doc, ensure_ascii=True, default=str, separators=(",", ":"))
    row["doc"] = text
    return row
