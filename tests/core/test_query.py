from __future__ import annotations

from pathlib import Path

import pytest

from soc.query import QueryError, compile_query
from soc.storage.events import ParquetEventStore

EVENTS = [
    {"@timestamp": "2026-11-30T10:00:00Z", "event": {"dataset": "fortinet.firewall", "category": ["network"],
                                                     "outcome": "failure"},
     "source": {"ip": "10.20.1.5", "port": 51000}, "destination": {"ip": "8.8.8.8", "port": 53},
     "user": {"name": "Bob"}, "related": {"ip": ["10.20.1.5", "8.8.8.8"]}, "message": "deny <script>"},
    {"@timestamp": "2026-11-30T11:00:00Z", "event": {"dataset": "nginx.access", "category": ["web"]},
     "source": {"ip": "185.1.2.3"}, "url": {"path": "/admin/login.php"}, "http": {"response": {"status_code": 404}}},
    {"@timestamp": "2026-12-01T01:00:00Z", "event": {"dataset": "system.auth", "outcome": "success"},
     "source": {"ip": "2001:db8::1"}, "user": {"name": "alice"}},
]


@pytest.fixture
def store(tmp_path: Path) -> ParquetEventStore:
    s = ParquetEventStore(tmp_path / "events")
    s.write(EVENTS)
    return s


@pytest.mark.parametrize(("query", "expected"), [
    ("", 3),
    ("source.ip:10.0.0.0/8", 1),
    ("source.ip:2001:db8::/32", 1),
    ("source.ip:2001:db9::/32", 0),
    ('source.ip:"2001:db8::1"', 1),
    ("user.name:bob", 1),
    ("NOT user.name:bob", 2),
    ("-user.name:bob", 2),
    ("event.category:network", 1),
    ("related.ip:8.8.8.8", 1),
    ("url.path:/admin*", 1),
    ("http.response.status_code:404", 1),
    ("http.response.status_code>=400", 1),
    ("event.outcome:failure OR event.outcome:success", 2),
    ("(event.outcome:failure OR event.outcome:success) AND user.name:alice", 1),
    ("script", 1),
    ("user.name:*", 2),
    ("event.dataset:nginx.access", 1),
])
def test_query_language(store: ParquetEventStore, query: str, expected: int) -> None:
    assert store.search(query).total == expected


def test_partitions_by_day_and_dataset(store: ParquetEventStore) -> None:
    parts = sorted(p.relative_to(store.root).parent.as_posix() for p in store.root.rglob("*.parquet"))
    assert parts == ["day=2026-11-30/dataset=fortinet.firewall", "day=2026-11-30/dataset=nginx.access",
                     "day=2026-12-01/dataset=system.auth"]


def test_events_come_back_whole(store: ParquetEventStore) -> None:
    res = store.search("user.name:bob")
    assert res.events[0] == EVENTS[0]


@pytest.mark.parametrize("bad", ["(user.name:bob", "user.name:", "source.ip:10.0.0.0/99", ":x",
                                 "source.port:abc", "a)"])
def test_malformed_queries_give_clear_errors(bad: str) -> None:
    with pytest.raises(QueryError) as err:
        compile_query(bad)
    assert str(err.value)


def test_values_are_parameters_not_sql(store: ParquetEventStore) -> None:
    # An injection attempt is just a value that matches nothing.
    assert store.search("user.name:\"x' OR 1=1 --\"").total == 0


def test_retention_removes_old_days(store: ParquetEventStore) -> None:
    from datetime import UTC, datetime

    removed = store.apply_retention(1, now=datetime(2026, 12, 2, tzinfo=UTC))
    assert removed == 1
    assert store.search("").total == 1


def test_compaction_keeps_every_event(tmp_path: Path) -> None:
    from datetime import date

    s = ParquetEventStore(tmp_path / "ev")
    for _ in range(10):
        s.write(EVENTS[:1])
    assert s.compact(before=date(2026, 12, 1), min_files=2) == 1
    assert len(list(s.root.rglob("*.parquet"))) == 1
    assert s.search("").total == 10


@pytest.mark.parametrize("field", ["a'||(select content from read_text('/etc/hostname'))||'", "x\"y", "a;b"])
def test_field_names_cannot_inject_sql(store: ParquetEventStore, field: str) -> None:
    with pytest.raises(QueryError):
        store.top_values(field)
    with pytest.raises(QueryError):
        compile_query(f"{field}:1")
