"""The spool: durable appends, batches, commit, crash recovery, bounds and marks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.record import Record
from connectors.spool import RejectedRecord, Spool, SpoolFull


def recs(n: int, start: int = 0, source: str = "s") -> list[Record]:
    return [Record(source, "json", f"line {i}", 1700000000.0 + i, "10.0.0.1", "UTC") for i in range(start, start + n)]


def test_round_trip_keeps_every_field_and_invalid_bytes(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    bad = b"caf\xe9 \x00 ok".decode("utf-8", "surrogateescape")
    sp.append([Record("fw", "fortigate", bad, 1.5, "192.0.2.7", "Asia/Ho_Chi_Minh"),
               Record("fw", "auto", "x", 2.0, None, None, host="web01"),
               RejectedRecord("fw", "auto", "cut", 3.0, None, None, "h1", reason="too long")])
    got, cur = sp.read(10, 1)
    assert [r.line for r in got] == [bad, "x", "cut"]
    assert got[0].raw_bytes() == b"caf\xe9 \x00 ok"
    assert (got[0].peer, got[0].tz, got[0].received) == ("192.0.2.7", "Asia/Ho_Chi_Minh", 1.5)
    assert got[1].peer is None and got[1].tz is None and got[1].host == "web01" and got[0].host is None
    assert isinstance(got[2], RejectedRecord) and got[2].reason == "too long"
    assert not isinstance(got[0], RejectedRecord)
    assert cur.count == 3


def append_each(sp: Spool, records: list[Record]) -> None:
    for r in records:
        sp.append([r])


def test_one_append_is_read_whole(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    sp.append(recs(5))
    got, cur = sp.read(2, 1)  # batches never split an append: its records arrive (or are lost) together
    assert len(got) == 5 and cur.count == 5


def test_uncommitted_batch_is_read_again_after_restart(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    append_each(sp, recs(5))
    got, cur = sp.read(3, 1)
    sp.commit(cur)
    got2, _ = sp.read(10, 1)  # read but never committed: "crash"
    assert [r.line for r in got2] == ["line 3", "line 4"]
    sp.close()
    sp2 = Spool(tmp_path)
    assert sp2.backlog == 2
    again, cur2 = sp2.read(10, 0.2)
    assert [r.line for r in again] == ["line 3", "line 4"]
    sp2.commit(cur2)
    assert sp2.backlog == 0
    assert sp2.read(10, 0.1)[0] == []


def test_inflight_batch_replays_whole_with_the_same_key(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    append_each(sp, recs(4))
    got, cur = sp.read(2, 1)
    sp.begin(cur)
    sp.close()  # crash after begin, before commit
    sp2 = Spool(tmp_path)
    again, cur2 = sp2.read(100, 0.2)  # bigger batch allowed now, but the replay stops at the in-flight end
    assert [r.line for r in again] == ["line 0", "line 1"]
    assert cur2.replay and cur2.key == cur.key
    sp2.commit(cur2)
    rest, cur3 = sp2.read(100, 0.2)
    assert [r.line for r in rest] == ["line 2", "line 3"] and not cur3.replay


def test_torn_tail_is_cut_on_open(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    sp.append(recs(3))
    sp.close()
    seg = sorted(tmp_path.glob("seg-*.log"))[-1]
    data = seg.read_bytes()
    seg.write_bytes(data + data[:20])  # half a frame, as after a power cut mid-write
    sp2 = Spool(tmp_path)
    assert sp2.backlog == 3
    sp2.append(recs(1, 3))
    got, _ = sp2.read(10, 0.2)
    assert [r.line for r in got] == ["line 0", "line 1", "line 2", "line 3"]


def test_segments_rotate_and_are_deleted_after_commit(tmp_path: Path) -> None:
    sp = Spool(tmp_path, segment_bytes=200)
    for i in range(10):
        append_each(sp, recs(2, 2 * i))
    assert len(list(tmp_path.glob("seg-*.log"))) > 3
    seen: list[str] = []
    while True:
        got, cur = sp.read(3, 0.1)
        if not got:
            break
        seen += [r.line for r in got]
        sp.commit(cur)
    assert seen == [f"line {i}" for i in range(20)]
    assert len(list(tmp_path.glob("seg-*.log"))) <= 2


def test_full_spool_blocks_or_refuses_and_counts(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_records=100)
    append_each(sp, recs(100))
    assert sp.append(recs(5), block=False) is False
    assert sp.dropped == 5
    with pytest.raises(SpoolFull):
        sp.append(recs(1), timeout=0.2)
    done = threading.Event()

    def writer() -> None:
        sp.append(recs(1, 500))
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)
    assert not done.is_set()  # waiting for room
    got, cur = sp.read(50, 1)
    sp.commit(cur)
    assert done.wait(5)
    t.join()
    assert sp.backlog == 51


def test_marks_survive_restart_and_commit(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    sp.append(recs(2), mark=("file:a", {"inode": 7, "offset": 10}))
    sp.append(recs(1), mark=("file:a", {"inode": 7, "offset": 20}))
    got, cur = sp.read(1, 1)
    sp.commit(cur)  # checkpoint written with the newest mark
    sp.close()
    sp2 = Spool(tmp_path)
    assert sp2.mark("file:a") == {"inode": 7, "offset": 20}
    sp2.append(recs(1), mark=("file:a", {"inode": 7, "offset": 30}))
    sp2.close()
    assert Spool(tmp_path).mark("file:a") == {"inode": 7, "offset": 30}


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    sp = Spool(tmp_path)

    def w(k: int) -> None:
        for j in range(50):
            sp.append(recs(4, 1000 * k + 4 * j, source=f"w{k}"))

    ts = [threading.Thread(target=w, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got, _ = sp.read(10_000, 1)
    assert len(got) == 800
    assert len({(r.source, r.line) for r in got}) == 800


def test_deferred_commit_is_replayed_as_in_flight_after_a_crash(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    append_each(sp, recs(3))
    got, cur = sp.read(2, 1)
    sp.begin(cur)
    sp.commit(cur, sync=False)  # stored, but the checkpoint is not written yet
    crashed = Spool(tmp_path, lock=False)  # as a new process would after a crash: the old one never closed
    again, cur2 = crashed.read(10, 0.1)
    assert [r.line for r in again] == ["line 0", "line 1"] and cur2.replay and cur2.key == cur.key
    sp.flush()
    assert Spool.peek_backlog(tmp_path) == 1


def test_second_spool_on_same_dir_is_refused(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    with pytest.raises(RuntimeError, match="in use by another process"):
        Spool(tmp_path)
    sp.close()
    Spool(tmp_path).close()  # free again once closed


def test_batches_are_bounded_in_bytes(tmp_path: Path) -> None:
    sp = Spool(tmp_path)
    big = "B" * 100_000
    for i in range(10):
        sp.append([Record("s", "auto", big + str(i), 1.0)])
    got, _ = sp.read(1000, 0.1, max_bytes=250_000)
    assert len(got) == 3  # stops at the first frame that reaches the limit


def test_frames_decode_to_equal_records_including_older_frames() -> None:
    """Every field survives a frame, record for record, and a frame written before a field existed (here
    ``host``) still decodes, the missing field taking its default."""
    import json

    from connectors import spool

    records = [Record("fw", "fortigate", "a=1", 1.25, "192.0.2.7", "UTC"),
               Record("fw", "fortigate", "a=2", 1.5, "192.0.2.7", "UTC"),
               Record("web", "nginx", "GET /", 2.0, None, None, host="web01"),
               RejectedRecord("fw", "auto", "cut", 3.0, None, None, "h1", reason="too long"),
               RejectedRecord("fw", "auto", "cut2", 4.0, None, None, "h1", reason="")]
    frame = spool.encode_batch(records)
    decoded = spool._decode(frame[spool._HEAD.size:])
    assert decoded == records
    assert [type(r) for r in decoded] == [type(r) for r in records]

    table = json.dumps({"fields": ["source", "format", "peer", "tz", "reason"],
                        "rows": [["old", "syslog", "10.0.0.9", None, None]]}).encode()
    line = b"<13>Nov 30 08:00:00 h app: x"
    payload = (spool._BATCH.pack(spool._KIND_BATCH, 1, len(table)) + table
               + spool._ITEM.pack(0, 5.0, len(line)) + line)
    old = spool._decode(payload)
    assert old == [Record("old", "syslog", line.decode(), 5.0, "10.0.0.9", None, None)]
