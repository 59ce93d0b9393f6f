"""The C table builder (``soc/storage/_rows.c``) must give exactly the table, partitions and times of the Python
reference (``row_values`` + ``rows_table``), on real parser output and on generated documents that put every kind
of value at every column's path; a row that fails is not half-added.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soc.storage import columns
from soc.storage.columns import CTableBuilder, PyTableBuilder
from soc.storage.schema import SCHEMA, parse_ts
from tests.core.test_schema_rows import FIELDS, SHARED, _parsed_samples, _values, generated_doc
from tests.extensions import require_built

needs_c = pytest.mark.skipif(columns._CBuilder is None, reason="soc.storage._rows is not built")


def test_the_extension_is_built() -> None:
    require_built(columns._CBuilder, "soc/storage/_rows.c")
    if os.environ.get("SOC_PURE_PYTHON_ROWS") != "1":
        assert columns.C_BUILDER is columns._CBuilder  # and the pipeline uses it


def _timeless(doc: dict[str, Any]) -> bool:
    """Events filed at 'now' (no usable @timestamp): their time differs between two builds by the clock."""
    ts = doc.get("@timestamp")
    if ts is None and "@timestamp" not in doc:
        return True
    return parse_ts(ts) is None


def _compare(docs: list[dict[str, Any]]) -> None:
    py, c = PyTableBuilder(), CTableBuilder()
    for d in docs:
        py.add(d)
        c.add(d)
    assert c.rows() == py.rows() == len(docs)
    t_py, p_py, ti_py = py.finish()
    t_c, p_c, ti_c = c.finish()
    t_c.validate(full=True)
    assert t_c.schema == SCHEMA
    now = [i for i, d in enumerate(docs) if _timeless(d)]
    for name in SCHEMA.names:
        a, b = t_py.column(name).to_pylist(), t_c.column(name).to_pylist()
        if name == "ts":
            for i in now:
                assert abs(a[i] - b[i]) < dt.timedelta(seconds=60)
                a[i] = b[i] = None
        assert a == b, name
    for i in now:
        assert abs(ti_py[i] - ti_c[i]) < 60_000  # epoch milliseconds
        assert p_py[i][1] == p_c[i][1]
    keep = [i for i in range(len(docs)) if i not in set(now)]
    assert [ti_py[i] for i in keep] == [ti_c[i] for i in keep]
    assert [p_py[i] for i in keep] == [p_c[i] for i in keep]
    assert all(t.__class__ is int for t in ti_c + ti_py)
    assert ti_c == t_c.column("ts").cast("int64").to_pylist()


@needs_c
def test_parser_output_gives_the_same_table() -> None:
    if not (SHARED / "logs" / "elastic").is_dir():
        pytest.skip("../shared/logs/elastic is absent")
    docs = _parsed_samples()
    assert len(docs) > 800
    for k in range(0, len(docs), 500):
        _compare(docs[k:k + 500])


@needs_c
def test_known_awkward_documents() -> None:
    ts = "2026-11-30T01:02:03.456789Z"
    _compare([
        {},
        {"@timestamp": ts, "event": {"category": ["network", "web"], "type": [], "dataset": "a/b c"}},
        {"@timestamp": ts, "source.ip": "10.0.0.1", "event.dataset": "flat"},  # flat dotted keys
        {"@timestamp": ts, 3: "a", "source": {"ip": "10.0.0.1"}},  # a key that is not text
        {"@timestamp": ts, "message": "l\udc80ne surrogate", "user": {"name": ["a", "\udcff", None]}},
        {"@timestamp": ts, "event": {"category": ["ok", "\udc80"]}, "host": {"name": "ünïcode İ K"}},
        {"@timestamp": ts, "source": {"port": True, "bytes": 2**63, "packets": -(2**63)},
         "destination": {"port": "443", "bytes": 1.9, "packets": "x"}},
        {"@timestamp": "1969-12-31T23:59:59.9995Z", "event": {"dataset": ["x"]}},  # before the epoch
        {"@timestamp": "1970-01-01T00:00:00Z", "event": {"dataset": "d"}},  # day 0, then day -1: not the same
        {"@timestamp": "1969-12-31T23:59:59.9995Z", "event": {"dataset": "d"}},
        {"@timestamp": "2026-11-30T08:00:00+07:00", "message": "\x00nul", "event": {"dataset": None}},
        {"@timestamp": "not a time", "event": {"dataset": {"a": 1}}},
        {"@timestamp": dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC), "url": {"original": 17}},
        {"@timestamp": ts, "event": "not an object", "source": ["list"], "message": {"nested": True}},
        {"@timestamp": ts, "soc": {"system": {"level": 3.0}}, "http": {"response": {"status_code": "404"}}},
    ])


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(st.tuples(st.sampled_from([*FIELDS, "event.dataset", "source", "event"]),
                                             _values), max_size=10), st.booleans()), min_size=1, max_size=6))
def test_generated_documents_give_the_same_table(specs: list[tuple[list[tuple[str, Any]], bool]]) -> None:
    _compare([generated_doc(pairs, dotted) for pairs, dotted in specs])


class _Unprintable:
    def __str__(self) -> str:
        raise ValueError("no text for this value")


@needs_c
def test_a_row_that_fails_is_not_half_added() -> None:
    good = [{"@timestamp": f"2026-11-30T01:00:0{i}Z", "event": {"dataset": "t.x", "category": ["a", "b"]},
             "source": {"ip": f"10.0.0.{i}", "port": i}, "message": f"m{i}"} for i in range(9)]
    # fails at the message column, after the time, the event fields, source, destination and user were
    # written (the good events have no destination or user: their validity bits must be back to null)
    bad = {"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "t.x", "category": ["c"]},
           "source": {"ip": "10.9.9.9", "port": 9}, "destination": {"ip": "10.1.1.1", "port": 80},
           "user": {"name": "u"}, "message": _Unprintable()}
    c, py = CTableBuilder(), PyTableBuilder()
    for i, d in enumerate(good):
        if i in (3, 8):  # mid-byte and at a byte boundary of the validity bitmaps
            with pytest.raises(ValueError, match="no text"):
                c.add(bad)
        c.add(d)
        py.add(d)
    t_c, p_c, ti_c = c.finish()
    t_py, p_py, ti_py = py.finish()
    t_c.validate(full=True)
    assert t_c.equals(t_py) and p_c == p_py and ti_c == ti_py
    assert t_c.num_rows == 9


@needs_c
def test_builder_misuse_is_an_error_not_a_crash() -> None:
    b = CTableBuilder()
    with pytest.raises(TypeError):
        b.add(["not", "a", "dict"])  # type: ignore[arg-type]
    b.finish()
    with pytest.raises(RuntimeError):
        b.add({})
    with pytest.raises(RuntimeError):
        b.finish()
    assert columns._CBuilder is not None
    for plan in [(), (1, 2), tuple(columns._PLAN_C[:-1])]:
        with pytest.raises((TypeError, ValueError)):
            columns._CBuilder(plan)


@needs_c
def test_an_empty_builder_gives_an_empty_table() -> None:
    table, parts, times = CTableBuilder().finish()
    assert table.num_rows == 0 and table.schema == SCHEMA and parts == [] and times == []
    assert isinstance(table.column("doc"), pa.ChunkedArray)


@needs_c
def test_a_table_whose_text_would_pass_the_limit_continues_in_another() -> None:
    """Arrow's string offsets are int32: past 2 GiB of text in a column the builder refuses the row (whole), and
    the pipeline's builder starts a new table and joins them. Shown with a limit of a few kB."""
    docs = [{"@timestamp": f"2026-11-30T01:00:{i:02d}Z", "event": {"dataset": "t.x"}, "message": "x" * 300}
            for i in range(40)]
    small = CTableBuilder(max_text=4000)
    with pytest.raises(OverflowError):
        for d in docs:
            small.add(d)
    assert 0 < small.rows() < len(docs)
    split = columns.SplittingBuilder(lambda: CTableBuilder(max_text=4000))
    py = PyTableBuilder()
    for d in docs:
        split.add(d)
        py.add(d)
    assert split.rows() == len(docs)
    got, ref = split.finish(), py.finish()
    assert got[0].equals(ref[0]) and got[1] == ref[1] and got[2] == ref[2]
    with pytest.raises(OverflowError):  # an event larger than the limit alone is refused, not looped on
        columns.SplittingBuilder(lambda: CTableBuilder(max_text=100)).add(docs[0])
