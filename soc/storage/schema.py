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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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

WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    # Columns unique per event would be dictionary-encoded only to fall back to plain; the whole event and
    # the message get no min/max statistics, which no search can use (searches prune on ts, ips, ports...).
    "use_dictionary": [c for c in COLUMNS if c not in ("doc", "message", "event_id", "url_original")],
    "write_statistics": [c for c in COLUMNS if c not in ("doc", "message")],
}
"""How every Parquet file of events is written (ingest and compaction)."""


_TS_SEEN: dict[str, datetime] = {}
"""ISO text -> its time: a busy source sends many events per second with the same ``@timestamp``, and each is
read twice (checked when parsed, then stored). Bounded; cleared when full."""


def parse_ts(value: Any) -> datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when it names no zone); None if it is not one."""
    if value.__class__ is str:
        hit = _TS_SEEN.get(value)
        if hit is not None:
            return hit
    elif isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not dt.tzinfo:
        dt = dt.replace(tzinfo=UTC)
    if len(_TS_SEEN) >= 4096:
        _TS_SEEN.clear()
    _TS_SEEN[value] = dt
    return dt


def _plan() -> tuple[tuple[str, tuple[tuple[int, tuple[str, ...], str, str], ...]], ...]:
    """Columns grouped by their top-level key, so one ``doc.get`` serves every column under it."""
    groups: dict[str, list[tuple[int, tuple[str, ...], str, str]]] = {}
    for i, (col, (field, _)) in enumerate(COLUMNS.items()):
        if col == "doc":
            continue
        parts = tuple(field.split("."))
        kind = "ts" if col == "ts" else "int" if col in _INT_COLUMNS else "str"
        groups.setdefault(parts[0], []).append((i, parts[1:], kind, field if len(parts) > 1 else ""))
    return tuple((top, tuple(fields)) for top, fields in groups.items())


_PLAN = _plan()
_NAMES = tuple(COLUMNS)
DOC = len(COLUMNS) - 1
"""Index of the ``doc`` column (the event as JSON) in a row from :func:`row_values`."""
DATASET = len(COLUMNS)
"""Index, after the columns, of the row's ``event.dataset``: the partition it is filed under."""
_INT_MIN, _INT_MAX = -(2**63), 2**63


def _clean(text: str) -> str:
    """Text as Parquet can store it: lone surrogates (from invalid input) become escapes."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _text(v: Any) -> str:
    if isinstance(v, list):
        try:
            return _clean(",".join(v))  # lists of text (event.category, event.type): the common case
        except TypeError:
            return _clean(",".join(str(x) for x in v))
    return _clean(v if isinstance(v, str) else str(v))


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    try:
        n = int(v)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    return n if _INT_MIN <= n < _INT_MAX else None


def dumps(doc: dict[str, Any]) -> str:
    """The ``doc`` column: the whole event as compact JSON text."""
    try:
        return orjson.dumps(doc, default=str).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:  # keys that are not text (rare, and the option slows every document down)
        return orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        # Lone surrogates (invalid input kept as it came) or exotic values: the slow, escaping path.
        return json.dumps(doc, ensure_ascii=True, default=str, separators=(",", ":"))


def row_values_generic(doc: dict[str, Any]) -> list[Any]:
    """What :func:`row_values` gives, written as a loop over :data:`COLUMNS`: the reference its generated
    form is tested against, and the path for events with flat dotted keys (``{"source.ip": ...}``, as some
    JSON inputs carry), which are looked up only when the nested path is absent."""
    out: list[Any] = [None] * (len(_NAMES) + 1)
    flat: bool | None = None
    for top, fields in _PLAN:
        base = doc.get(top)
        for idx, rest, kind, dotted in fields:
            v = base
            for p in rest:
                if v.__class__ is not dict:
                    v = None
                    break
                v = v.get(p)
            if v is None:
                if not dotted:
                    continue
                if flat is None:
                    flat = any("." in k for k in doc if isinstance(k, str))
                if not flat or (v := doc.get(dotted)) is None:
                    continue
            if kind == "str":
                out[idx] = v if v.__class__ is str and v.isascii() else _text(v)
            elif kind == "int":
                out[idx] = v if v.__class__ is int and _INT_MIN <= v < _INT_MAX else _int(v)
            else:
                out[idx] = parse_ts(v)
    out[DOC] = dumps(doc)
    ev = doc.get("event")
    if ev.__class__ is dict:
        out[DATASET] = ev.get("dataset")
    return out


def _compile_row_values() -> Callable[[dict[str, Any]], list[Any]]:
    """:func:`row_values_generic` unrolled for :data:`COLUMNS`: one straight run of dict lookups, each
    intermediate object fetched once. The source is built from this module's own constants (field names
    as ``repr`` literals), never from input, and runs ~3x faster than the loop (it is on every event's path).
    """
    tree: dict[str, Any] = {}
    for i, (col, (field, _)) in enumerate(COLUMNS.items()):
        if col != "doc":
            *parents, leaf = field.split(".")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = (i, "ts" if col == "ts" else "int" if col in _INT_COLUMNS else "str")
    tree.setdefault("event", {})["dataset"] = (DATASET, "raw")
    code = ["def row_values(doc):",
            "    try:",
            "        if '.' in ''.join(doc):",
            "            return generic(doc)",
            "    except TypeError:  # a key that is not text",
            "        return generic(doc)",
            f"    out = [None] * {len(_NAMES) + 1}"]
    convert = {"str": "v if v.__class__ is str and v.isascii() else text(v)",
               "int": "v if v.__class__ is int and INT_MIN <= v < INT_MAX else to_int(v)",
               "ts": "parse_ts(v)", "raw": "v"}
    names = iter(f"d{n}" for n in range(1000))

    def emit(var: str, node: dict[str, Any], pad: str) -> None:
        for key, sub in node.items():
            if isinstance(sub, tuple):
                idx, kind = sub
                code.extend((f"{pad}v = {var}.get({key!r})", f"{pad}if v is not None:",
                             f"{pad}    out[{idx}] = {convert[kind]}"))
            else:
                child = next(names)
                code.extend((f"{pad}{child} = {var}.get({key!r})", f"{pad}if {child}.__class__ is dict:"))
                emit(child, sub, pad + "    ")

    emit("doc", tree, "    ")
    code.extend((f"    out[{DOC}] = dumps(doc)", "    return out"))
    scope: dict[str, Any] = {"generic": row_values_generic, "text": _text, "to_int": _int, "parse_ts": parse_ts,
                             "dumps": dumps, "INT_MIN": _INT_MIN, "INT_MAX": _INT_MAX}
    exec(compile("\n".join(code), f"<{__name__}.row_values>", "exec"), scope)  # noqa: S102
    fn: Callable[[dict[str, Any]], list[Any]] = scope["row_values"]
    fn.__doc__ = """One event as the values of :data:`COLUMNS`, in order (lists joined with commas, bad numbers null),
    followed by its ``event.dataset`` (:data:`DATASET`, the partition; not a column)."""
    return fn


row_values = _compile_row_values()


def to_row(doc: dict[str, Any]) -> dict[str, Any]:
    """One event as a row of :data:`COLUMNS` (a dict; :func:`to_table` is the fast path for batches)."""
    return dict(zip(_NAMES, row_values(doc)[:DATASET], strict=True))


def to_table(rows: list[list[Any]]) -> pa.Table:
    """Rows from :func:`row_values` as one Arrow table of :data:`SCHEMA`, built column by column."""
    if not rows:
        return SCHEMA.empty_table()
    columns: list[Any] = list(zip(*rows, strict=True))[:DATASET]
    # Times as epoch milliseconds: Arrow converts datetime objects through pandas, whose import alone
    # costs each process over a second.
    columns[0] = pa.array([None if t is None else (t - _EPOCH) // _MS for t in columns[0]], type=pa.int64())
    return pa.Table.from_arrays([columns[0].cast(SCHEMA.field(0).type)]
                                + [pa.array(col, type=SCHEMA.field(i).type)
                                   for i, col in enumerate(columns) if i],
                                schema=SCHEMA)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DAY = timedelta(days=1)
_SAFE = str.maketrans({c: "_" for c in "/\\:*?\"<>| ="})
_DAYS: dict[int, str] = {}
"""Days since the epoch -> ``YYYY-MM-DD``."""
_DATASETS: dict[Any, str] = {}
"""``event.dataset`` -> its directory name."""


def partition(row: list[Any]) -> tuple[str, str]:
    """``(day, dataset)`` a row from :func:`row_values` is filed under: its UTC day (now when it has no
    time; the row is updated) and its ``event.dataset`` as a safe directory name (``unknown`` if absent)."""
    ts = row[0]
    if ts is None:
        ts = row[0] = datetime.now(UTC)
    n = (ts - _EPOCH) // _DAY  # whole UTC days: one integer division instead of a zone conversion
    day = _DAYS.get(n)
    if day is None:
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        day = _DAYS[n] = ts.astimezone(UTC).date().isoformat()
    ds = row[DATASET]
    name = _DATASETS.get(ds) if ds.__class__ is str else None
    if name is None:
        name = str(ds or "unknown").translate(_SAFE)[:80] or "unknown"
        if ds.__class__ is str:  # (a list or object from JSON input is not a key, and rare)
            if len(_DATASETS) > 10_000:
                _DATASETS.clear()
            _DATASETS[ds] = name
    return day, name


def rows_table(rows: list[list[Any]]) -> tuple[pa.Table, list[tuple[str, str]], list[datetime]]:
    """Rows from :func:`row_values` as one :data:`SCHEMA` table, the partition of each (as :func:`partition`
    gives) and each event's time (``@timestamp``, or when it was filed if it has none)."""
    partitions = [partition(row) for row in rows]
    return to_table(rows), partitions, [row[0] for row in rows]


def warm_up() -> None:
    """Pay now the one-off costs of the first :func:`to_table`: Arrow imports pandas on its first array
    (over a second), which would otherwise stall the first batch a process handles."""
    to_table([row_values({"@timestamp": "2026-01-01T00:00:00Z"})])
