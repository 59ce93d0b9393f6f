"""The pipeline on real SQLite and Parquet files: every record is stored or dead-lettered, and counts reconcile."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from connectors.record import Record
from detectors.base import make_alert
from soc.alerts import AlertSink
from soc.inventory import Inventory
from soc.pipeline import Pipeline
from soc.storage.events import ParquetEventStore
from soc.storage.models import Alert, DeadLetter
from soc.storage.state import State
from tests.core.fixtures import INVENTORY


class FailedLoginDetector:
    """A tiny real detector: one alert per failed login event."""

    name = "test"

    def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if (event.get("event") or {}).get("outcome") == "failure":
            return [make_alert(kind="sigma", rule={"id": "r1", "name": "failed login", "level": "high",
                                                   "tags": ["attack.credential_access"]}, events=[event])]
        return []

    def flush(self, now: Any = None) -> list[dict[str, Any]]:
        return []


class BrokenDetector:
    name = "broken"

    def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        raise RuntimeError("boom")


def _pipeline(tmp_path: Path, detectors: list[Any]) -> Pipeline:
    inv_path = tmp_path / "inv.yaml"
    inv_path.write_text(INVENTORY, encoding="utf-8")
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    return Pipeline(state=state, events=ParquetEventStore(tmp_path / "events"), inventory=Inventory.load(inv_path),
                    detectors=detectors, alert_sink=AlertSink())


def _rec(line: str, fmt: str = "json") -> Record:
    return Record(source="t", format=fmt, line=line, received=time.time())


def test_counts_reconcile_and_bad_lines_are_dead_lettered(tmp_path: Path) -> None:
    p = _pipeline(tmp_path, [FailedLoginDetector()])
    good = {"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "system.auth", "outcome": "failure"},
            "source": {"ip": "10.1.1.9"}, "user": {"name": "root"}}
    lines = [json.dumps(good)] * 3 + ["{not json", "[1,2]", "ok\x00nul", "bad \udcff utf8", json.dumps(good)]
    res = p.process([_rec(ln) for ln in lines] + [_rec("x", fmt="nosuchformat")])
    assert res.received == 9
    assert res.parsed == 4 and res.dead == 5
    assert res.received == res.parsed + res.dead
    assert p.events.search("").total == 4
    with p.state.session() as s:
        reasons = [r for (r,) in s.execute(select(DeadLetter.reason))]
        raws = [r for (r,) in s.execute(select(DeadLetter.raw))]
    assert any("not valid JSON" in r for r in reasons)
    assert any("NUL" in r for r in reasons)
    assert any("UTF-8" in r for r in reasons)
    assert any("unknown format" in r for r in reasons)
    assert b"bad \xff utf8" in raws  # the invalid byte is kept as it arrived


def test_events_enriched_stored_and_alerts_deduplicated(tmp_path: Path) -> None:
    p = _pipeline(tmp_path, [FailedLoginDetector()])
    ev = {"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "system.auth", "outcome": "failure"},
          "source": {"ip": "10.1.2.9"}, "user": {"name": "root"}}
    p.process([_rec(json.dumps(ev)) for _ in range(5)])
    stored = p.events.search("soc.agency.id:a1").events
    assert len(stored) == 5 and stored[0]["soc"]["system"]["level"] == 4
    with p.state.session() as s:
        rows = s.execute(select(Alert)).scalars().all()
    assert len(rows) == 1
    assert rows[0].count == 5
    assert rows[0].severity == "critical"  # high rule on a level-4 system
    assert rows[0].agency_id == "a1" and rows[0].tactics == ["credential_access"]


def test_a_failing_detector_loses_nothing(tmp_path: Path) -> None:
    p = _pipeline(tmp_path, [BrokenDetector(), FailedLoginDetector()])
    ev = {"event": {"outcome": "failure"}, "user": {"name": "x"}}
    res = p.process([_rec(json.dumps(ev))])
    assert res.parsed == 1 and res.alerts == 1
    assert p.detector_errors == {"broken": 1}
    assert p.events.search("").total == 1  # stored without @timestamp: received time used
    with p.state.session() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar_one() == 1


def test_unstorable_values_are_dead_lettered_or_escaped_not_raised(tmp_path: Path) -> None:
    p = _pipeline(tmp_path, [])
    lines = [
        json.dumps({"@timestamp": "9999-12-31T23:59:59-14:00", "message": "far future"}),
        json.dumps({"@timestamp": "yesterday", "message": "not a time"}),
        '{"@timestamp": "2026-11-30T01:00:00Z", "user": {"name": "bad \\udc80 name"}, "message": "lone surrogate"}',
    ]
    res = p.process([_rec(ln) for ln in lines])
    assert (res.parsed, res.dead) == (1, 2)
    stored = p.events.search("").events
    assert len(stored) == 1 and "name" in stored[0]["user"]["name"]
    with p.state.session() as s:
        reasons = sorted(r for (r,) in s.execute(select(DeadLetter.reason)))
    assert any("out of range" in r for r in reasons) and any("not an ISO 8601" in r for r in reasons)


def _mixed_lines(n: int) -> list[Record]:
    """``n`` records of several formats, with bad ones mixed in (dead letters must come out the same)."""
    out = []
    for i in range(n):
        k = i % 5
        if k == 0:
            ev = {"@timestamp": f"2026-11-30T01:{i % 60:02d}:00Z", "event": {"dataset": "system.auth",
                  "outcome": "failure"}, "source": {"ip": f"10.1.{i % 3}.9"}, "user": {"name": f"u{i % 7}"}}
            out.append(_rec(json.dumps(ev)))
        elif k == 1:
            out.append(_rec(f"<38>Nov 30 08:{i % 60:02d}:01 web1 sshd[{i}]: Failed password for root from "
                            f"203.0.113.{i % 250} port {1024 + i} ssh2", fmt="auth"))
        elif k == 2:
            out.append(_rec(f'date=2026-11-30 time=08:00:{i % 60:02d} devname="FGT" logid="0000000013" '
                            f'type="traffic" subtype="forward" srcip=10.1.1.{i % 250} srcport={i} '
                            f'dstip=8.8.8.8 dstport=53 proto=17 action="accept" sentbyte={i}', fmt="fortigate"))
        elif k == 3:
            out.append(_rec("{not json" if i % 2 else "bad \udcff utf8"))
        else:
            out.append(_rec("x", fmt="nosuchformat"))
    return out


def _stored(p: Pipeline) -> list[dict[str, Any]]:
    return sorted(p.events.iter_events(), key=lambda e: e["soc"]["batch_seq"])


def test_worker_processes_give_exactly_what_in_process_preparation_gives(tmp_path: Path) -> None:
    from soc.prepare import MIN_PARALLEL

    recs = _mixed_lines(MIN_PARALLEL * 2 + 37)
    results = {}
    for workers in (0, 2):
        (tmp_path / f"w{workers}").mkdir()
        p = _pipeline(tmp_path / f"w{workers}", [FailedLoginDetector()])
        p.pool.workers = workers
        try:
            res = p.process(recs, batch="b1")
            assert (p.pool.parallel_batches, p.pool.fallbacks) == ((1, 0) if workers else (0, 0))
        finally:
            p.close()
        with p.state.session() as s:
            dead = sorted((r.reason, r.raw) for r in s.execute(select(DeadLetter)).scalars())
            alerts = s.execute(select(func.sum(Alert.count))).scalar_one()
        results[workers] = (res.received, res.parsed, res.dead, res.events, res.alerts,
                            {k: vars(v) for k, v in res.per_source.items()}, dead, alerts, _stored(p))
    assert results[2][:3] == (len(recs), res.parsed, res.dead) and res.dead > 0 and res.parsed > 0
    for a, b in zip(results[0], results[2], strict=True):
        assert a == b
    stored = results[2][-1]
    assert all(e["soc"]["batch"] == "b1" for e in stored)
    assert {e["soc"].get("agency", {}).get("id") for e in stored} >= {"a1"}  # enriched in the workers


def test_a_replayed_batch_skips_what_was_stored_but_detects_everything(tmp_path: Path) -> None:
    from soc.prepare import SEQ_STRIDE

    recs = _mixed_lines(40)
    p = _pipeline(tmp_path, [FailedLoginDetector()])
    first = p.process(recs, batch="b7")
    seqs = [e["soc"]["batch_seq"] for e in _stored(p)]
    assert seqs == sorted(seqs) and all(s % SEQ_STRIDE == 0 for s in seqs)  # one event per record here
    again = p.process(recs, batch="b7", skip=set(seqs[: len(seqs) // 2]))
    assert len(_stored(p)) == first.events + (first.events - len(seqs) // 2)
    assert again.alerts == first.alerts


def test_a_killed_worker_process_loses_nothing_and_the_pool_comes_back(tmp_path: Path) -> None:
    import os
    import signal

    import psutil

    from soc.prepare import MIN_PARALLEL

    recs = _mixed_lines(MIN_PARALLEL + 10)
    p = _pipeline(tmp_path, [])
    p.pool.workers = 1
    try:
        first = p.process(recs, batch="b1")
        assert p.pool.parallel_batches == 1
        for child in psutil.Process().children(recursive=True):  # as the OOM killer would
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.Error:  # a process of an earlier test, already gone (zombie)
                continue
            if "spawn_main" in cmdline:  # the worker, not multiprocessing's resource tracker
                os.kill(child.pid, signal.SIGKILL)
        second = p.process(recs, batch="b2")  # the dead worker is noticed: prepared in-process
        third = p.process(recs, batch="b3")  # and a new worker does the next batch
    finally:
        p.close()
    assert p.pool.fallbacks == 1 and p.pool.parallel_batches == 2
    assert (first.parsed, first.dead) == (second.parsed, second.dead) == (third.parsed, third.dead)
    assert p.events.count() == 3 * first.events


def test_a_prefetched_batch_gives_what_processing_it_directly_gives(tmp_path: Path) -> None:
    """The ingest service hands the next batch to the workers before storing the current one: the result must
    not depend on it, and a stale or mismatched prefetch must be redone, never used."""
    from soc.prepare import MIN_PARALLEL

    recs = _mixed_lines(MIN_PARALLEL + 23)
    direct_dir, ahead_dir = tmp_path / "direct", tmp_path / "ahead"
    direct_dir.mkdir()
    ahead_dir.mkdir()
    direct, ahead = _pipeline(direct_dir, [FailedLoginDetector()]), _pipeline(ahead_dir, [FailedLoginDetector()])
    direct.pool.workers = ahead.pool.workers = 2
    try:
        want = direct.process(recs, batch="b1")
        pending = ahead.prefetch(recs, batch="b1")
        assert pending is not None and len(pending.futures) > 1
        got = ahead.process(recs, batch="b1", pending=pending)
        assert (got.received, got.parsed, got.dead, got.events, got.alerts) == \
            (want.received, want.parsed, want.dead, want.events, want.alerts)
        assert _stored(ahead) == _stored(direct)

        # A prefetch of other records (or another batch key) is not used for this batch.
        other = ahead.prefetch(list(reversed(recs)), batch="b2")
        got2 = ahead.process(recs, batch="b2", pending=other)
        assert (got2.parsed, got2.dead, got2.events) == (want.parsed, want.dead, want.events)
        seqs = sorted(e["soc"]["batch_seq"] for e in _stored(ahead) if e["soc"]["batch"] == "b2")
        assert seqs == sorted(e["soc"]["batch_seq"] for e in _stored(direct))

        # The inventory changed after the prefetch: the workers restart, and the batch is prepared again with
        # the new inventory (no agency any more), not taken from the old pool.
        stale = ahead.prefetch(recs, batch="b3")
        ahead.inventory = Inventory.empty()
        ahead.prefetch(recs[:MIN_PARALLEL], batch="b4")  # what restarts the pool
        got3 = ahead.process(recs, batch="b3", pending=stale)
        assert got3.events == want.events
        assert not any("agency" in e["soc"] for e in _stored(ahead) if e["soc"]["batch"] == "b3")
        assert ahead.pool.fallbacks == 0
    finally:
        direct.close()
        ahead.close()


def test_each_record_is_parsed_with_its_own_arrival_zone_and_source() -> None:
    """Records of one read share a parse context; a record whose arrival time, zone, source or peer differs
    must not inherit the previous record's (the year and zone of RFC 3164 times, soc.input)."""
    from datetime import UTC, datetime

    from soc.prepare import Preparer

    prep = Preparer(Inventory.empty())
    line = "<13>Nov 30 08:00:00 web01 app: hello"
    t26 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    t24 = datetime(2024, 12, 1, 0, 0, 5, tzinfo=UTC).timestamp()
    recs = [Record("a", "syslog", line, t26, "10.0.0.1", "UTC"),
            Record("a", "syslog", line, t26, "10.0.0.1", "UTC"),
            Record("a", "syslog", line, t26, "10.0.0.1", "Asia/Ho_Chi_Minh"),
            Record("b", "syslog", line, t26, "10.0.0.1", "Asia/Ho_Chi_Minh"),
            Record("b", "syslog", line, t24, "10.0.0.1", "Asia/Ho_Chi_Minh"),
            Record("b", "json", '{"message": "no time"}', t24, "10.0.0.2")]
    docs = [prep.parse(r)[0][0] for r in recs]
    assert [d["@timestamp"][:19] for d in docs[:5]] == ["2026-11-30T08:00:00", "2026-11-30T08:00:00",
                                                         "2026-11-30T01:00:00", "2026-11-30T01:00:00",
                                                         "2024-11-30T01:00:00"]
    assert [d["soc"]["input"] for d in docs] == ["a", "a", "a", "b", "b", "b"]
    assert docs[5]["@timestamp"].startswith("2024-12-01T00:00:05")


def test_tables_handed_back_through_shared_memory_leave_no_file_behind(tmp_path: Path) -> None:
    """Workers leave each chunk's table in a file the service maps. Every file is removed once received,
    when a read-ahead is dropped, and with the folder when the pool closes; a dead service's folder is swept;
    a folder that cannot be written means the tables come back inline, same result."""
    import os
    import subprocess
    import sys

    from soc.prepare import MIN_PARALLEL, SHIP_PREFIX, _ship_root

    root = Path(_ship_root())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    stale = root / f"{SHIP_PREFIX}{dead}-test"
    stale.mkdir()
    (stale / "left.arrow").write_bytes(b"x" * 100)
    recs = _mixed_lines(MIN_PARALLEL * 2 + 11)
    p = _pipeline(tmp_path, [FailedLoginDetector()])
    p.pool.workers = 2
    try:
        want = p.process(recs, batch="b1")
        ship = p.pool._ship_dir
        assert ship is not None and Path(ship).parent == root and oct(os.stat(ship).st_mode & 0o777) == "0o700"
        assert not stale.exists()  # swept when the pool started
        assert p.pool.parallel_batches == 1 and os.listdir(ship) == []
        dropped = p.prefetch(recs, batch="b2")  # read ahead, then dropped (a failed store, a stop)
        assert dropped is not None
        for f in dropped.futures:
            f.result()
        assert len(os.listdir(ship)) == len(dropped.futures)
        dropped.cancel()
        assert os.listdir(ship) == []
        os.rmdir(ship)  # the workers can no longer write there: tables come back through the pipe
        got = p.process(recs, batch="b3")
        assert (got.events, got.parsed, got.dead, got.alerts) == (want.events, want.parsed, want.dead, want.alerts)
        assert p.pool.fallbacks == 0 and p.pool.parallel_batches == 2
        p.inventory = Inventory.empty()  # restarts the workers, with a new folder
        p.process(recs, batch="b4")
        ship = p.pool._ship_dir
        assert ship is not None and Path(ship).is_dir()
    finally:
        p.close()
    assert p.pool._ship_dir is None and not Path(ship).exists()
    by_batch: dict[str, list[Any]] = {}
    for e in _stored(p):
        by_batch.setdefault(e["soc"]["batch"], []).append({k: v for k, v in e.items() if k != "soc"})
    assert by_batch["b1"] == by_batch["b3"] and "b2" not in by_batch


def test_settle_heap_keeps_start_up_objects_out_of_collections_and_frees_old_cycles_on_the_next_call() -> None:
    """``soc run`` freezes its start-up heap; a rule reload calls it again, which must free the cycles of what
    was dropped since (old rules), not keep them forever."""
    import gc
    import weakref

    from soc.service import settle_heap

    class Node:
        other: Any = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    ref = weakref.ref(a)
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        del a, b
        gc.collect()
        assert ref() is not None  # frozen: full collections no longer walk it
        settle_heap()
        assert ref() is None  # the next settle freed it
    finally:
        gc.unfreeze()
