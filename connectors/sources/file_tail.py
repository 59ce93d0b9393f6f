"""Files: tail with rotation, and one-time import of ``.gz`` files, with an exact checkpoint.

``path`` may be a glob (``/var/log/fw/*.log``). Each file's position (inode and
byte offset; for ``.gz`` the number of lines) is written *into the spool in the
same fsync as the lines it covers* (a spool mark), so after a crash the tail
resumes exactly after the last line that reached the spool: nothing lost,
nothing read twice.

Rotation: when the path's inode changes, the old file (still open) is read to
its end, last unterminated line included, then the new file is read from 0. If
the rotation happened while the service was down, the old file is looked up by
its inode next to the path (``fw.log.1``...) and finished first. Truncation
(``copytruncate``): the size drops below the offset or the first bytes change,
so reading restarts at 0.
A partial last line is left until its newline arrives.
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from connectors.record import Record
from connectors.spool import Spool

from .base import PollingSource
from .framing import Frame

READ_BYTES = 1024 * 1024
GZ_BATCH = 2000


HEAD_BYTES = 256


class _Tracked:
    __slots__ = ("fh", "head", "ino", "offset", "path", "skip")

    def __init__(self, path: str, fh: BinaryIO, ino: int, offset: int, skip: bool = False,
                 head: tuple[int, int] = (0, 0)) -> None:
        self.path = path
        self.fh = fh
        self.ino = ino
        self.offset = offset
        self.skip = skip
        self.head = head
        """(length, crc32) of the file's first bytes: a rewrite or copytruncate changes them."""


def _head(fh: BinaryIO, n: int) -> tuple[int, int]:
    fh.seek(0)
    data = fh.read(n)
    return len(data), zlib.crc32(data)


def _rewritten(t: _Tracked) -> bool:
    """Truncated or rewritten in place since we read it (size below our offset, or different first bytes)."""
    size = os.fstat(t.fh.fileno()).st_size
    if size < t.offset:
        return True
    n, crc = t.head
    return n > 0 and _head(t.fh, n) != (n, crc)


class FileTailSource(PollingSource):
    def __init__(self, cfg: Any, spool: Spool, poll_seconds: float = 0.25) -> None:
        super().__init__(cfg, spool, poll_seconds)
        self._files: dict[str, _Tracked] = {}

    def key(self, path: str) -> str:
        return f"file:{self.name}:{os.path.abspath(path)}"

    def _close(self) -> None:
        for t in self._files.values():
            t.fh.close()
        self._files.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # keep tailing the other files; the error shows in health
                self.error(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.poll_seconds)

    def poll(self) -> None:
        """One pass over every matching file (public so tests and imports can drive it directly)."""
        for path in sorted(glob.glob(str(self.cfg.path))):
            if self._stop.is_set():
                return
            if not os.path.isfile(path):
                continue
            if path.endswith(".gz"):
                self._import_gz(path)
            else:
                self._tail(path)

    # -- plain files -------------------------------------------------------------------------------
    def _open(self, path: str) -> _Tracked | None:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - kept open across polls to survive rotation
        except OSError as exc:
            self.error(f"cannot open {path}: {exc}")
            return None
        st = os.fstat(fh.fileno())
        mark = self.spool.mark(self.key(path))
        t = _Tracked(path, fh, st.st_ino, 0)
        if mark is not None:
            if mark.get("inode") == st.st_ino:
                t.offset = int(mark.get("offset", 0))
                t.skip = bool(mark.get("skip"))
                head = mark.get("head") or [0, 0]
                t.head = (int(head[0]), int(head[1]))
                if _rewritten(t):  # truncated or rewritten while we were away
                    t.offset, t.skip, t.head = 0, False, (0, 0)
            else:
                self._finish_rotated(path, mark)
        return t

    def _finish_rotated(self, path: str, mark: dict[str, Any]) -> None:
        """The file was rotated while the service was down: finish the old one if it is still next to it."""
        folder = Path(path).parent
        for cand in folder.glob(Path(path).name + "*"):
            try:
                st = cand.stat()
            except OSError:
                continue
            if st.st_ino == mark.get("inode") and not cand.name.endswith(".gz"):
                with open(cand, "rb") as fh:
                    old = _Tracked(path, fh, st.st_ino, int(mark.get("offset", 0)), bool(mark.get("skip")))
                    self._read(old, final=True)
                return

    def _tail(self, path: str) -> None:
        t = self._files.get(path)
        if t is None:
            t = self._open(path)
            if t is None:
                return
            self._files[path] = t
        elif _rewritten(t):
            t.offset, t.skip, t.head = 0, False, (0, 0)
        self._read(t, final=False)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return  # rotated away, new file not there yet: keep the old one open
        if st.st_ino != t.ino:
            self._read(t, final=True)
            t.fh.close()
            fh = open(path, "rb")  # noqa: SIM115
            t.fh, t.ino, t.offset, t.skip = fh, os.fstat(fh.fileno()).st_ino, 0, False
            self.spool.append([], mark=(self.key(path), {"inode": t.ino, "offset": 0}))
            self._read(t, final=False)

    def _read(self, t: _Tracked, *, final: bool) -> None:
        """Read complete lines from ``t.offset`` to the end; ``final`` also takes an unterminated last line."""
        max_line = self.cfg.max_line_bytes
        while not self._stop.is_set():
            t.fh.seek(t.offset)
            data = t.fh.read(max(READ_BYTES, max_line + 1))
            if not data:
                return
            frames: list[Frame] = []
            pos = 0
            end = data.rfind(b"\n") + 1
            if t.skip:
                i = data.find(b"\n")
                if i < 0:
                    pos = len(data)
                    end = pos
                else:
                    pos = i + 1
                    t.skip = False
            if end > pos:
                for raw in data[pos:end - 1].split(b"\n"):
                    frames.extend(self._frame(raw))
                pos = end
            rest = len(data) - pos
            if rest > max_line:
                frames.append(Frame(data[pos:pos + max_line], f"line longer than the {max_line}-byte limit; cut"))
                pos = len(data)
                t.skip = True
            elif rest and final and len(data) < READ_BYTES:
                frames.extend(self._frame(data[pos:]))
                pos = len(data)
            if pos == 0:
                return  # only a partial line so far
            t.offset += pos
            if t.head[0] < HEAD_BYTES:
                t.head = _head(t.fh, min(t.offset, HEAD_BYTES))
            recs = self.records(frames, None)
            self.spool.append(recs, mark=(self.key(t.path), {"inode": t.ino, "offset": t.offset, "skip": t.skip,
                                                              "head": list(t.head)}))
            self.counted(len(recs))

    def _frame(self, raw: bytes) -> list[Frame]:
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            return []
        max_line = self.cfg.max_line_bytes
        if len(raw) > max_line:
            return [Frame(raw[:max_line], f"line longer than the {max_line}-byte limit; cut")]
        return [Frame(raw)]

    # -- .gz: a whole-file import, resumable by line count ------------------------------------------
    def _import_gz(self, path: str) -> None:
        key = self.key(path)
        try:
            st = os.stat(path)
        except OSError:
            return
        mark = self.spool.mark(key) or {}
        if mark.get("inode") == st.st_ino and mark.get("done"):
            return
        done_lines = int(mark.get("lines", 0)) if mark.get("inode") == st.st_ino else 0
        n = 0
        batch: list[Record] = []
        try:
            max_line = self.cfg.max_line_bytes
            with gzip.open(path, "rb") as fh:
                while raw := fh.readline(max_line + 1):
                    if self._stop.is_set():
                        return
                    if len(raw) > max_line and not raw.endswith(b"\n"):
                        while (more := fh.readline(max_line)) and not more.endswith(b"\n"):
                            pass  # drop the rest of an over-long line; memory stays bounded
                    n += 1
                    if n <= done_lines:
                        continue
                    batch.extend(self.records(self._frame(raw.rstrip(b"\n")), None))
                    if n % GZ_BATCH == 0:
                        self.spool.append(batch, mark=(key, {"inode": st.st_ino, "lines": n}))
                        self.counted(len(batch))
                        batch = []
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            self.error(f"{path}: not a readable gzip file ({exc}); lines before the damage were kept")
        self.spool.append(batch, mark=(key, {"inode": st.st_ino, "lines": n, "done": True}))
        self.counted(len(batch))
