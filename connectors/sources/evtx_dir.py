"""Windows ``.evtx`` files dropped in a folder (exported logs, collected by a share or WEF).

Each file matching ``path`` is read once with :func:`connectors.evtx_reader.iter_evtx`;
every event record becomes one JSON line with format ``winlog``. The position
(number of records) is a spool mark written with the records, so an import
interrupted by a crash resumes where it stopped; a file is read again only if
its size or modification time changes (a live log that grew).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import time
from pathlib import Path

from connectors.record import Record
from connectors.spool import RejectedRecord

from .base import PollingSource

BATCH = 1000


class EvtxSource(PollingSource):
    join_seconds = 30.0

    def key(self, path: str) -> str:
        return f"evtx:{self.name}:{os.path.abspath(path)}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:
                self.error(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.poll_seconds)

    def poll(self) -> None:
        for path in sorted(glob.glob(str(self.cfg.path))):
            if self._stop.is_set():
                return
            if os.path.isfile(path):
                self.import_file(path)

    def import_file(self, path: str) -> int:
        """Spool the records of ``path`` not spooled yet; returns how many were added."""
        from connectors.evtx_reader import EvtxError, iter_evtx, record_line

        st = os.stat(path)
        ident = {"inode": st.st_ino, "size": st.st_size, "mtime": st.st_mtime}
        key = self.key(path)
        mark = self.spool.mark(key) or {}
        same = all(mark.get(k) == v for k, v in ident.items())
        if same and mark.get("done"):
            return 0
        skip = int(mark.get("records", 0)) if mark.get("inode") == st.st_ino else 0
        cfg = self.cfg
        n = added = 0
        batch: list[Record] = []
        try:
            items = iter_evtx(Path(path))
            first = next(items, None)
        except EvtxError as exc:
            self.error(f"{path}: {exc} (will retry on the next poll)")
            return 0
        chain = [first] if first is not None else []
        for item in itertools.chain(chain, items):
            if self._stop.is_set():
                break
            n += 1
            if n <= skip:
                continue
            record, error = item
            now = time.time()
            if record is not None:
                batch.append(Record(cfg.name, "winlog", record_line(record), now, None, cfg.timezone,
                                    cfg.host_name))
            else:
                batch.append(RejectedRecord(cfg.name, "winlog", json.dumps({"file": path, "record": n}), now, None,
                                            cfg.timezone, cfg.host_name,
                                            reason=f"evtx: unreadable record {n} in {path}: {error}"))
            if len(batch) >= BATCH:
                self.spool.append(batch, mark=(key, {**ident, "records": n}))
                self.counted(len(batch))
                added += len(batch)
                batch = []
        done = not self._stop.is_set()
        self.spool.append(batch, mark=(key, {**ident, "records": n, "done": done}))
        self.counted(len(batch))
        return added + len(batch)
