"""Events -> the storage table, one event at a time: :func:`table_builder`.

The parse workers turn every event into a row of :data:`~soc.storage.schema.COLUMNS` and a run of rows into
one Arrow table. In Python that is :func:`~soc.storage.schema.row_values` per event and a ``pa.array`` per
column; the C builder (``soc/storage/_rows.c``, built by ``pip install``) writes each value straight into the
column's Arrow buffers and keeps orjson's bytes as they are, at about a third of the cost. Both give the same
table, partitions and times (``tests/core/test_columns.py`` compares them); without a C compiler the
package installs and uses the Python builder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
import pyarrow as pa

from .schema import (
    _DATASETS,
    _DAYS,
    _EPOCH,
    _INT_COLUMNS,
    _MS,
    _PLAN,
    _SAFE,
    COLUMNS,
    SCHEMA,
    _int,
    _text,
    dumps,
    parse_ts,
    row_values,
    row_values_generic,
    rows_table,
)

try:
    from ._rows import Builder as _CBuilder
except ImportError:  # no C compiler at install time: the Python builder gives the same tables
    _CBuilder = None

# SOC_PURE_PYTHON_ROWS=1 forces the Python builder (for comparisons and benchmarks).
C_BUILDER = None if os.environ.get("SOC_PURE_PYTHON_ROWS") == "1" else _CBuilder

Partition = tuple[str, str]


class TableBuilder(Protocol):
    def add(self, doc: dict[str, Any]) -> None:
        """Append one event as a row; on an exception nothing of it was added."""

    def finish(self) -> tuple[pa.Table, list[Partition], list[int]]:
        """The rows as one :data:`~soc.storage.schema.SCHEMA` table, each row's partition and time (epoch
        milliseconds, as stored)."""

    def rows(self) -> int:
        """Rows added so far."""


class PyTableBuilder:
    """The reference: :func:`~soc.storage.schema.row_values` per event, :func:`~soc.storage.schema.rows_table`
    at the end."""

    def __init__(self) -> None:
        self._rows: list[list[Any]] = []

    def add(self, doc: dict[str, Any]) -> None:
        self._rows.append(row_values(doc))

    def finish(self) -> tuple[pa.Table, list[Partition], list[int]]:
        table, partitions, times = rows_table(self._rows)
        return table, partitions, [(t - _EPOCH) // _MS for t in times]

    def rows(self) -> int:
        return len(self._rows)


# -- the C builder's helpers: everything that is not a plain value stays here ----------------------------
_TS_MS: dict[str, int] = {}
"""ISO text -> epoch milliseconds: the C builder reads it directly. Bounded; cleared when full."""


def _ts_ms(value: Any) -> int | None:
    dt = parse_ts(value)
    if dt is None:
        return None
    ms: int = (dt - _EPOCH) // _MS
    if value.__class__ is str:
        if len(_TS_MS) >= 4096:
            _TS_MS.clear()
        _TS_MS[value] = ms
    return ms


def _now_ms() -> int:
    """The time of an event without one: when it is filed (as :func:`~soc.storage.schema.partition` does)."""
    return (datetime.now(UTC) - _EPOCH) // _MS


def _part_of(ms: int, ds: Any) -> Partition:
    """What :func:`~soc.storage.schema.partition` gives for a row of time ``ms`` and ``event.dataset`` ``ds``."""
    n = ms // 86_400_000
    day = _DAYS.get(n)
    if day is None:
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        day = _DAYS[n] = (_EPOCH + timedelta(days=n)).date().isoformat()
    name = _DATASETS.get(ds) if ds.__class__ is str else None
    if name is None:
        name = str(ds or "unknown").translate(_SAFE)[:80] or "unknown"
        if ds.__class__ is str:
            if len(_DATASETS) > 10_000:
                _DATASETS.clear()
            _DATASETS[ds] = name
    return day, name


_TS, _STR, _INT = 0, 1, 2
_KINDS = tuple(_TS if c == "ts" else _INT if c in _INT_COLUMNS else _STR for c in COLUMNS)
_PLAN_C = (
    tuple((top, tuple((idx, rest) for idx, rest, _, _ in fields)) for top, fields in _PLAN),
    _KINDS, _text, _int, _ts_ms, _now_ms, _part_of, row_values_generic, dumps, orjson.dumps, str,
    _TS_MS, "event", "dataset",
)
_TYPES = [SCHEMA.field(i).type for i in range(len(COLUMNS))]


class CTableBuilder:
    """The same table through ``soc.storage._rows.Builder``; Arrow arrays wrap its buffers without a copy."""

    def __init__(self, max_text: int = 2**31 - 1) -> None:
        if _CBuilder is None:
            raise RuntimeError("soc.storage._rows is not built")
        self._b = _CBuilder(_PLAN_C, max_text)
        self.add: Callable[[dict[str, Any]], None] = self._b.add  # the C method itself: no Python frame per event

    def rows(self) -> int:
        return int(self._b.rows())

    def finish(self) -> tuple[pa.Table, list[Partition], list[int]]:
        n, cols, times, parts = self._b.finish()
        arrays = []
        for typ, (kind, valid, nulls, vals, data) in zip(_TYPES, cols, strict=True):
            bufs = [None if valid is None else pa.py_buffer(valid), pa.py_buffer(vals)]
            if kind == _STR:
                bufs.append(pa.py_buffer(data))
            arrays.append(pa.Array.from_buffers(typ, n, bufs, null_count=nulls))
        return pa.Table.from_arrays(arrays, schema=SCHEMA), parts, times


def _one() -> TableBuilder:
    return CTableBuilder() if C_BUILDER is not None else PyTableBuilder()


class SplittingBuilder:
    """Starts a new table when a text column of the current one would pass 2 GiB (Arrow's ``string`` limit;
    only a chunk of hundreds of megabyte-sized events can get there), and joins them at the end."""

    def __init__(self, one: Callable[[], TableBuilder] = _one) -> None:
        self._one = one
        self._cur = one()
        self._done: list[tuple[pa.Table, list[Partition], list[int]]] = []

    def add(self, doc: dict[str, Any]) -> None:
        try:
            self._cur.add(doc)
        except OverflowError:
            if not self._cur.rows():
                raise
            self._done.append(self._cur.finish())
            self._cur = self._one()
            self._cur.add(doc)

    def rows(self) -> int:
        return self._cur.rows() + sum(t.num_rows for t, _, _ in self._done)

    def finish(self) -> tuple[pa.Table, list[Partition], list[int]]:
        last = self._cur.finish()
        if not self._done:
            return last
        parts = [*self._done, last]
        return (pa.concat_tables([t for t, _, _ in parts]), [p for _, ps, _ in parts for p in ps],
                [t for _, _, ts in parts for t in ts])


def table_builder() -> TableBuilder:
    """A builder of one table: the C one when it is built, else the Python reference."""
    return SplittingBuilder()
