"""A durable on-disk queue between sources and the pipeline.

Sources :meth:`Spool.append` raw records; the call returns only once the bytes
are fsync'd, which is the moment a TCP line counts as read and an HTTP request
gets its 2xx. The single consumer (:class:`connectors.runner.IngestService`)
:meth:`Spool.read`\\ s a batch, runs it through the pipeline, then
:meth:`Spool.commit`\\ s it; a crash in between replays the batch on restart.

Layout of ``<dir>``::

    seg-0000000000000001.log   append-only frames (see ``_FRAME``)
    checkpoint.json            committed cursor, source marks, in-flight batch (atomic rename + fsync)

A frame is ``crc32, length`` then the payload; a torn frame at the tail (power
cut mid-write) fails its CRC and is cut off on open. Besides records, a frame
may carry a *mark*: a source position (file offset and inode) written in the
same fsync as the records it covers, so that a file source resumes exactly after
the last line that reached the spool: no line is lost or read twice.

The spool is bounded: past ``max_records`` of backlog, ``append`` waits (the TCP
and HTTP sources stop reading their sockets) or, with ``block=False`` (UDP),
refuses, and the caller counts the drop.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from connectors.record import Record

_HEAD = struct.Struct("<II")  # crc32 of payload, payload length
_BATCH = struct.Struct("<BII")  # kind, record count, length of the JSON metadata table
_ITEM = struct.Struct("<HdI")  # metadata index, received, line length
_KIND_BATCH = 1
_KIND_MARK = 2
SEGMENT_BYTES = 64 * 1024 * 1024
MAX_FRAME = 64 * 1024 * 1024
FRAME_RECORDS = 10_000
"""Records per frame at most (an append of more is split)."""


class SpoolFull(Exception):
    """``append`` waited ``timeout`` seconds and the backlog did not shrink."""


@dataclass(slots=True)
class RejectedRecord(Record):
    """A record a source already knows is bad (cut at the line limit...); the consumer dead-letters it."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after a batch: segment number, byte offset in it, and how many records the batch held."""

    segment: int
    offset: int
    count: int = 0
    start_segment: int = 0
    start_offset: int = 0
    replay: bool = False
    """True for the first batch after a restart that was in flight when the previous process stopped."""

    @property
    def key(self) -> str:
        """Stable name of the batch (its start position): the same batch replayed has the same key."""
        return f"{self.start_segment}:{self.start_offset}"


META_FIELDS = tuple(f.name for f in fields(Record) if f.name not in ("line", "received"))
"""Record fields kept in a frame's metadata table (all but the line and arrival time)."""


def encode_batch(records: Sequence[Record]) -> bytes:
    """One frame for many records: a table of the distinct (source, format, peer, tz, reason), then the lines.

    Records from one connection share all of those, so a line costs 14 bytes of overhead
    and one ``struct.pack``: encoding is not what limits ingest.
    """
    metas: dict[tuple[Any, ...], int] = {}
    parts: list[bytes] = []
    pack = _ITEM.pack
    names = META_FIELDS
    meta_of = attrgetter(*names)
    for r in records:
        key = (*meta_of(r), r.reason if isinstance(r, RejectedRecord) else None)
        idx = metas.get(key)
        if idx is None:
            idx = metas[key] = len(metas)
        line = r.line.encode("utf-8", "surrogateescape")
        parts.append(pack(idx, r.received, len(line)))
        parts.append(line)
    table = json.dumps({"fields": [*names, "reason"], "rows": list(metas)},
                       ensure_ascii=False).encode("utf-8", "surrogateescape")
    payload = _BATCH.pack(_KIND_BATCH, len(records), len(table)) + table + b"".join(parts)
    return _HEAD.pack(zlib.crc32(payload), len(payload)) + payload


def encode_mark(key: str, value: dict[str, Any]) -> bytes:
    payload = bytes([_KIND_MARK]) + json.dumps([key, value]).encode()
    return _HEAD.pack(zlib.crc32(payload), len(payload)) + payload


def _decode(payload: bytes) -> list[Record] | tuple[str, dict[str, Any]]:
    if payload[0] == _KIND_MARK:
        key, value = json.loads(payload[1:])
        return key, value
    _, count, tlen = _BATCH.unpack_from(payload)
    pos = _BATCH.size
    table = json.loads(payload[pos:pos + tlen].decode("utf-8", "surrogateescape"))
    pos += tlen
    known = set(META_FIELDS)
    metas: list[tuple[dict[str, Any], str | None, list[Any] | None]] = []
    for row in table["rows"]:
        kw = dict(zip(table["fields"], row, strict=True))
        reason = kw.pop("reason", None)
        kw = {k: v for k, v in kw.items() if k in known}
        metas.append((kw, reason, _positional(kw) if reason is None else None))
    out: list[Record] = []
    unpack = _ITEM.unpack_from
    isize = _ITEM.size
    at_line, at_received = _AT_LINE, _AT_RECEIVED
    for _ in range(count):
        idx, received, ln = unpack(payload, pos)
        pos += isize
        line = payload[pos:pos + ln].decode("utf-8", "surrogateescape")
        pos += ln
        kw, reason, args = metas[idx]
        if args is not None:  # positional arguments: a third of the cost of keywords (every record passes here)
            vals = args.copy()
            vals[at_line] = line
            vals[at_received] = received
            out.append(Record(*vals))
        else:
            out.append(RejectedRecord(line=line, received=received, reason=reason or "", **kw))
    return out


_NAMES = [f.name for f in fields(Record)]
_AT_LINE, _AT_RECEIVED = _NAMES.index("line"), _NAMES.index("received")


def _positional(kw: dict[str, Any]) -> list[Any]:
    """``Record``'s arguments in field order, line and arrival time left to fill in; fields a frame lacks (written
    by an older version) take their defaults, as keywords would."""
    out: list[Any] = []
    for f in fields(Record):
        if f.name in kw:
            out.append(kw[f.name])
        elif f.name in ("line", "received"):
            out.append(None)  # filled per record
        elif f.default is not MISSING:
            out.append(f.default)
        else:
            raise TypeError(f"spool frame has no {f.name!r} for its records")
    return out


def _count(payload: bytes) -> int:
    return _BATCH.unpack_from(payload)[1] if payload[0] == _KIND_BATCH else 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Append-only segment files plus an fsync'd checkpoint; one consumer, many producers."""

    def __init__(self, directory: Path | str, *, max_records: int = 100_000,
                 segment_bytes: int = SEGMENT_BYTES, fsync: bool = True, lock: bool = True) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lockfh: Any = None
        if lock:  # two writers on one spool would interleave frames and lose data
            self._lockfh = open(self.dir / "lock", "a")  # noqa: SIM115 - held for the spool's life
            try:
                fcntl.flock(self._lockfh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lockfh.close()
                raise RuntimeError(f"spool {self.dir} is in use by another process (is `soc run` already "
                                   "running with this data_dir?)") from None
        self.max_records = max_records
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sync_lock = threading.Lock()
        self._marks: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self.appended = 0
        self.dropped = 0
        self._closed = False
        ck = self._load_checkpoint()
        self._committed = (int(ck.get("segment", 1)), int(ck.get("offset", 0)))
        self._durable_committed = self._committed
        self._dirty = False
        self._inflight: tuple[int, int] | None = None
        for k, (pos, v) in (ck.get("marks") or {}).items():
            self._marks[k] = ((int(pos[0]), int(pos[1])), v)
        inflight = ck.get("inflight")
        self._inflight_end: tuple[int, int] | None = (int(inflight[0]), int(inflight[1])) if inflight else None
        self._pending = self._recover()
        self._read_pos = self._committed
        self._read_fh: Any = None
        self._read_seg = 0
        segs = self._segments()
        self._seg = segs[-1] if segs else max(self._committed[0], 1)
        self._fh = open(self._path(self._seg), "ab")  # noqa: SIM115 - lives as long as the spool
        self._end = (self._seg, self._fh.tell())
        self._synced = self._end

    # -- files -------------------------------------------------------------------------------------
    def _path(self, seg: int) -> Path:
        return self.dir / f"seg-{seg:016d}.log"

    def _segments(self) -> list[int]:
        out = []
        for p in self.dir.glob("seg-*.log"):
            try:
                out.append(int(p.stem[4:]))
            except ValueError:
                continue
        return sorted(out)

    def _load_checkpoint(self) -> dict[str, Any]:
        p = self.dir / "checkpoint.json"
        if not p.exists():
            return {}
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"spool checkpoint {p} is unreadable ({exc}); move it aside to replay the "
                               "whole spool") from None
        return data if isinstance(data, dict) else {}

    def _write_checkpoint(self) -> None:
        inflight = self._inflight
        data = {"segment": self._committed[0], "offset": self._committed[1],
                "marks": {k: [list(pos), v] for k, (pos, v) in self._marks.items()},
                "inflight": list(inflight) if inflight else None}
        tmp = self.dir / "checkpoint.json.tmp"
        with open(tmp, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        tmp.replace(self.dir / "checkpoint.json")
        if self.fsync:
            _fsync_dir(self.dir)
        self._durable_committed = self._committed
        self._dirty = False

    def _scan(self, seg: int, start: int, truncate: bool) -> tuple[int, int]:
        """Walk ``seg`` from ``start``: count records, apply marks, cut a torn tail; returns (records, end)."""
        n = 0
        path = self._path(seg)
        with open(path, "rb") as fh:
            fh.seek(start)
            pos = start
            while True:
                head = fh.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                crc, ln = _HEAD.unpack(head)
                payload = fh.read(ln) if ln <= MAX_FRAME else b""
                if len(payload) != ln or zlib.crc32(payload) != crc:
                    break
                if payload[0] == _KIND_MARK:
                    key, value = json.loads(payload[1:])
                    old = self._marks.get(key)
                    if old is None or old[0] <= (seg, pos):
                        self._marks[key] = ((seg, pos), value)
                else:
                    n += _count(payload)
                pos += _HEAD.size + ln
        if truncate and pos < path.stat().st_size:
            with open(path, "r+b") as fh:
                fh.truncate(pos)
                os.fsync(fh.fileno())
        return n, pos

    def _recover(self) -> int:
        """Count the backlog after the committed cursor and cut a torn tail off the last segment."""
        segs = [s for s in self._segments() if s >= self._committed[0]]
        for s in self._segments():
            if s < self._committed[0]:
                self._path(s).unlink(missing_ok=True)
        pending = 0
        for i, s in enumerate(segs):
            start = self._committed[1] if s == self._committed[0] else 0
            n, _ = self._scan(s, start, truncate=(i == len(segs) - 1))
            pending += n
        return pending

    @staticmethod
    def peek_backlog(directory: Path | str) -> int:
        """Records not yet committed, read without changing anything (safe while another process runs it)."""
        d = Path(directory)
        try:
            ck = json.loads((d / "checkpoint.json").read_text())
        except (OSError, ValueError):
            ck = {}
        seg0, off0 = int(ck.get("segment", 1)), int(ck.get("offset", 0))
        n = 0
        for p in sorted(d.glob("seg-*.log")):
            seg = int(p.stem[4:])
            if seg < seg0:
                continue
            with open(p, "rb") as fh:
                fh.seek(off0 if seg == seg0 else 0)
                while len(head := fh.read(_HEAD.size)) == _HEAD.size:
                    crc, ln = _HEAD.unpack(head)
                    payload = fh.read(ln)
                    if len(payload) != ln or zlib.crc32(payload) != crc:
                        break
                    n += _count(payload)
        return n

    # -- producers ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def backlog(self) -> int:
        return self._pending

    def readable(self) -> bool:
        """Whether :meth:`read` would return at once with something: durable data past the last read
        (records, or only source marks)."""
        with self._cond:
            return self._read_pos < self._visible()

    def append(self, records: Sequence[Record], *, mark: tuple[str, dict[str, Any]] | None = None,
               block: bool = True, timeout: float | None = None) -> bool:
        """Write ``records`` (and a source ``mark``) durably; ``False`` if refused because the spool is full.

        With ``block`` the call waits for room (up to ``timeout``, then :class:`SpoolFull`).
        """
        if not records and mark is None:
            return True
        data = b"".join(encode_batch(records[i:i + FRAME_RECORDS]) for i in range(0, len(records), FRAME_RECORDS))
        if mark is not None:
            data += encode_mark(*mark)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while records and self._pending >= self.max_records and not self._closed:
                if not block:
                    self.dropped += len(records)
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise SpoolFull(f"spool backlog at {self._pending} records for {timeout:.0f} s")
                self._cond.wait(left if left is not None else 1.0)
            if self._closed:
                raise SpoolFull("spool is closed")
            if self._end[1] >= self.segment_bytes:
                self._rotate()
            pos = self._end
            self._fh.write(data)
            self._end = (self._seg, pos[1] + len(data))
            if mark is not None:
                self._marks[mark[0]] = ((self._seg, self._end[1] - 1), mark[1])
            target = self._end
            self._pending += len(records)
            self.appended += len(records)
        self._sync(target)
        return True

    def _rotate(self) -> None:
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._fh.close()
        self._seg += 1
        self._fh = open(self._path(self._seg), "ab")  # noqa: SIM115
        self._end = (self._seg, 0)
        self._synced = (self._seg, 0)  # the old segment is on disk in full

    def _sync(self, target: tuple[int, int]) -> None:
        """Group commit: one fsync covers every writer that wrote before it."""
        with self._sync_lock:
            if self._synced >= target:
                return
            with self._lock:
                self._fh.flush()
                end = self._end
                fd = os.dup(self._fh.fileno())  # a rotation may close the file meanwhile
            try:
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            with self._cond:
                self._synced = max(self._synced, end)
                self._cond.notify_all()

    # -- the consumer ------------------------------------------------------------------------------
    def read(self, max_records: int, timeout: float, max_bytes: int = 64 * 1024 * 1024) -> tuple[list[Record], Cursor]:
        """Durable records after the last read, waiting up to ``timeout`` for the first.

        A batch ends at ``max_records`` or ``max_bytes`` (so a batch of megabyte lines stays bounded),
        always on a frame boundary: the records of one ``append`` come together.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._read_pos >= self._visible() and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            limit = self._visible()
        replay = False
        if self._inflight_end is not None:
            limit, replay = min(limit, self._inflight_end), True
            max_records = max_bytes = 1 << 62  # the whole interrupted batch, as it was
        start = self._read_pos
        out: list[Record] = []
        seg, pos = self._read_pos
        nbytes = 0
        while len(out) < max_records and nbytes < max_bytes and (seg, pos) < limit:
            fh = self._reader(seg)
            fh.seek(pos)
            seg_limit = limit[1] if seg == limit[0] else None
            while len(out) < max_records and nbytes < max_bytes and (seg_limit is None or pos < seg_limit):
                head = fh.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                _, ln = _HEAD.unpack(head)
                item = _decode(fh.read(ln))
                pos += _HEAD.size + ln
                nbytes += ln
                if isinstance(item, list):
                    out.extend(item)
            if len(out) < max_records and nbytes < max_bytes and seg < limit[0]:
                seg, pos = seg + 1, 0
            else:
                break
        self._read_pos = (seg, pos)
        if replay:
            self._inflight_end = None
        return out, Cursor(seg, pos, len(out), start[0], start[1], replay)

    def _visible(self) -> tuple[int, int]:
        return min(self._synced, self._end)

    def _reader(self, seg: int) -> Any:
        if self._read_fh is None or self._read_seg != seg:
            if self._read_fh is not None:
                self._read_fh.close()
            self._read_fh = open(self._path(seg), "rb")  # noqa: SIM115
            self._read_seg = seg
        return self._read_fh

    def begin(self, cursor: Cursor) -> None:
        """Record that the batch ending at ``cursor`` goes into the pipeline now (a restart replays it whole).

        The same checkpoint write also persists a preceding ``commit(sync=False)``: one
        checkpoint per batch instead of two.
        """
        with self._lock:
            self._inflight = (cursor.segment, cursor.offset)
            self._write_checkpoint()
        self._drop_old_segments()

    def commit(self, cursor: Cursor, *, sync: bool = True) -> None:
        """The batch up to ``cursor`` is stored: free room, then (``sync``) persist the checkpoint now.

        With ``sync=False`` the checkpoint is written by the next :meth:`begin` or :meth:`flush`;
        until then a crash replays this batch, and the runner's replay check skips its stored events.
        """
        with self._cond:
            self._committed = (cursor.segment, cursor.offset)
            self._pending = max(0, self._pending - cursor.count)
            self._dirty = True
            self._inflight = None
            if sync:
                self._write_checkpoint()
            self._cond.notify_all()
        if sync:
            self._drop_old_segments()

    def flush(self) -> None:
        """Persist a deferred commit (idle consumer, shutdown)."""
        with self._lock:
            if not self._dirty:
                return
            self._write_checkpoint()
        self._drop_old_segments()

    def _drop_old_segments(self) -> None:
        with self._lock:
            durable, cur_seg = self._durable_committed[0], self._seg
        for s in self._segments():
            if s < durable and s < cur_seg:
                self._path(s).unlink(missing_ok=True)

    def rewind(self) -> None:
        """Forget reads past the committed cursor (the pipeline failed; the batch will be read again)."""
        with self._lock:
            self._read_pos = self._committed

    def mark(self, key: str) -> dict[str, Any] | None:
        """The latest position a source stored with ``append(..., mark=(key, value))``."""
        with self._lock:
            m = self._marks.get(key)
            return dict(m[1]) if m else None

    def close(self) -> None:
        if not self._closed:
            self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
            self._fh.close()
            if self._read_fh is not None:
                self._read_fh.close()
            if self._lockfh is not None:
                self._lockfh.close()  # releases the flock
