"""The storage row of an event: the generated ``row_values`` must give exactly what the reference loop gives.

``row_values`` is source generated at import from ``COLUMNS`` (for speed); ``row_values_generic`` is the
plain loop it replaces. They are compared on real parser output and on generated documents that put every
kind of value (wrong types, lists, nested objects, huge numbers, lone surrogates) at every column's path.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.parsers import ParseContext, ParseError, parse_line
from soc.storage.schema import (
    COLUMNS,
    DATASET,
    DOC,
    SCHEMA,
    partition,
    row_values,
    row_values_generic,
    rows_table,
    to_table,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
FIELDS = [f for f, _ in COLUMNS.values() if f]


def _same(doc: dict[str, Any]) -> None:
    fast, ref = row_values(doc), row_values_generic(doc)
    assert fast[:DOC] == ref[:DOC]
    assert fast[DOC] == ref[DOC]
    assert fast[DATASET] == ref[DATASET]


def _put(doc: dict[str, Any], field: str, value: Any) -> None:
    *parents, leaf = field.split(".")
    node = doc
    for p in parents:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[leaf] = value


def test_known_documents() -> None:
    ts = "2026-11-30T01:02:03.456789Z"
    full: dict[str, Any] = {}
    for i, field in enumerate(FIELDS):
        _put(full, field, i)
    full["@timestamp"] = ts
    full["event"]["category"] = ["network", "web"]
    cases: list[dict[str, Any]] = [
        {},
        {"@timestamp": ts},
        full,
        {"@timestamp": ts, "source.ip": "10.0.0.1", "source": {"port": "22"}},  # flat dotted keys
        {"@timestamp": ts, 3: "a", "source": {"ip": "10.0.0.1"}},  # a key that is not text
        {"@timestamp": ts, "event": "not an object", "source": ["list"], "message": {"nested": True}},
        {"@timestamp": ts, "source": {"port": True, "bytes": 2**63, "packets": -(2**63)}, "destination": {
            "port": "443", "bytes": 1.9, "packets": "x"}},
        {"@timestamp": ts, "message": "l\udc80ne surrogate", "user": {"name": ["a", 1, None]}},
        {"@timestamp": ts, "http": {"request": "GET", "response": {"status_code": 200}}},
        {"@timestamp": ts, "soc": {"agency": {"id": "a1"}, "system": {"id": "s1", "level": "3"}}},
    ]
    for doc in cases:
        _same(doc)
    row = row_values(full)
    assert row[0] == dt.datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=dt.UTC)
    assert row[list(COLUMNS).index("event_category")] == "network,web"
    assert json.loads(row[DOC]) == json.loads(json.dumps(full))


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["2026-11-30T01:02:03Z", "2026-11-30T08:02:03.5+07:00", "2026-11-30", "not a time", "443",
                     "-1", "", "ünïcode", "a\udc80b"]),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["ip", "port", "id", "x"]), inner, max_size=3)),
    max_leaves=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([*FIELDS, "event.dataset", "source", "event", "soc.system"]), _values),
                max_size=12),
       st.booleans())
def test_generated_documents(pairs: list[tuple[str, Any]], dotted: bool) -> None:
    _same(generated_doc(pairs, dotted))


def generated_doc(pairs: list[tuple[str, Any]], dotted: bool) -> dict[str, Any]:
    """A document with each value at its field's path, or (``dotted``) under the literal dotted name."""
    doc: dict[str, Any] = {}
    for field, value in pairs:
        if dotted and "." in field and value is not None:
            doc[field] = value
        else:
            _put(doc, field, value)
    return doc


def _parsed_samples(limit: int = 4000) -> list[dict[str, Any]]:
    """Documents our parsers make from Elastic's and Wazuh's sample logs."""
    from tests.connectors.elastic_compare import ELASTIC, VENDORS, _inputs

    docs: list[dict[str, Any]] = []
    ctx = ParseContext()
    for vendor, fmt in VENDORS.items():
        for path in sorted((ELASTIC / vendor).rglob("*")):
            if not path.is_file() or path.name.endswith("-expected.json") or path.suffix not in (".log", ".json"):
                continue
            for raw in _inputs(path):
                line = raw if isinstance(raw, str) else json.dumps(raw)
                try:
                    docs += parse_line(fmt, line, ctx)
                except ParseError:
                    continue
                if len(docs) >= limit:
                    return docs
    for path in sorted((SHARED / "logs" / "loghub").rglob("*.log")):  # real Linux, OpenSSH, Apache logs
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:300]:
            try:
                docs += parse_line("auto", line, ctx)
            except ParseError:
                continue
    return docs


def test_parser_output() -> None:
    if not (SHARED / "logs" / "elastic").is_dir():
        pytest.skip("../shared/logs/elastic is absent")
    docs = _parsed_samples()
    assert len(docs) > 800
    for doc in docs:
        _same(doc)


def test_rows_table_matches_rows() -> None:
    docs: list[dict[str, Any]] = [
        {"@timestamp": "2026-11-30T23:30:00+07:00", "event": {"dataset": "fortinet.firewall"},
         "source": {"ip": "10.0.0.1", "port": 1234}},
        {"@timestamp": "2026-11-30T17:30:00Z", "event": {"dataset": "a/b c"}},
        {"event": {"dataset": None}, "message": "no time"},
    ]
    table, parts, times = rows_table([row_values(d) for d in docs])
    assert table.schema == SCHEMA
    assert table.num_rows == 3
    assert parts[0] == ("2026-11-30", "fortinet.firewall")  # 16:30 UTC
    assert parts[1] == ("2026-11-30", "a_b_c")
    assert parts[2][1] == "unknown"
    assert times[0] == dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)
    assert isinstance(times[2], dt.datetime)  # filed now
    rows = [row_values_generic(d) for d in docs[:2]]
    assert table.slice(0, 2).equals(to_table(rows))
    assert [partition(r) for r in rows] == parts[:2]
    assert table.column("source_port").to_pylist() == [1234, None, None]
    assert pa.types.is_timestamp(table.schema.field("ts").type)


def test_parse_ts_cache_gives_each_text_its_own_time() -> None:
    from soc.storage.schema import parse_ts

    texts = ["2026-11-30T01:02:03Z", "2026-11-30T08:02:03+07:00", "2026-11-30T01:02:03", "2026-11-30T01:02:03.5Z",
             "2026-11-30"]
    first = [parse_ts(t) for t in texts]
    for _ in range(2):  # cached answers equal computed ones, and different texts never share an entry
        assert [parse_ts(t) for t in texts] == first
    assert first[0] == first[1] == first[2]
    assert first[3] == dt.datetime(2026, 11, 30, 1, 2, 3, 500000, tzinfo=dt.UTC)
    assert parse_ts("not a time") is None and parse_ts("not a time") is None
    naive = dt.datetime(2026, 1, 1)
    assert parse_ts(naive) == naive.replace(tzinfo=dt.UTC)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(when=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                         timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=7)),
                                                    dt.timezone(dt.timedelta(hours=-11, minutes=-30))])),
       dataset=st.one_of(st.none(), st.text(max_size=100), st.lists(st.text(max_size=5), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.integers()))
def test_partition_is_the_utc_day_and_a_safe_name(when: dt.datetime, dataset: Any) -> None:
    """The cached day and name equal what they are computed from, whatever the zone or the dataset's type."""
    row: list[Any] = [None] * (DATASET + 1)
    row[0], row[DATASET] = when, dataset
    for _ in range(2):  # computed, then cached
        day, name = partition(row)
        assert day == when.astimezone(dt.UTC).date().isoformat()
        assert name == (str(dataset or "unknown").translate(str.maketrans({c: "_" for c in '/\\:*?"<>| ='}))[:80]
                        or "unknown")
        assert not set(name) & set('/\\:*?"<>| =')


def test_stored_files_keep_time_statistics_and_skip_them_for_the_whole_event(tmp_path: Path) -> None:
    """Searches prune files and row groups on ``ts`` (and ips, ports) min/max; the JSON of the whole event gets
    neither statistics nor a dictionary (unique per event, only cost). Compaction writes the same way."""
    import pyarrow.parquet as pq

    from soc.storage.events import ParquetEventStore

    store = ParquetEventStore(tmp_path)
    docs = [{"@timestamp": f"2026-11-30T01:00:{i:02d}Z", "event": {"dataset": "t.x", "kind": "event"},
             "source": {"ip": f"10.0.0.{i}"}, "message": f"m{i}"} for i in range(20)]
    for k in range(0, 20, 5):
        store.write(docs[k:k + 5])
    assert store.compact(min_files=2) == 1
    (path,) = list(tmp_path.rglob("*.parquet"))
    meta = pq.ParquetFile(path).metadata.row_group(0)
    cols = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert cols["ts"].is_stats_set and cols["source_ip"].statistics.min == "10.0.0.0"
    assert not cols["doc"].is_stats_set and not cols["message"].is_stats_set
    assert "RLE_DICTIONARY" not in cols["doc"].encodings and "RLE_DICTIONARY" in cols["event_kind"].encodings
    assert store.count() == 20
