"""File tail: appends, rotation, truncation, restart without loss or repeats, .gz import."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from connectors.sources.file_tail import FileTailSource
from connectors.spool import RejectedRecord, Spool

from .conftest import source_cfg


def lines_of(spool: Spool) -> list[str]:
    out: list[str] = []
    while True:
        recs, cur = spool.read(10_000, 0.05)
        spool.commit(cur)
        if not recs:
            return out
        out += [r.line for r in recs]


def write(p: Path, text: str, mode: str = "a") -> None:
    with open(p, mode) as fh:
        fh.write(text)


def test_tail_partial_lines_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, "one\ntwo\nthr")
    sp = Spool(tmp_path / "sp")
    src = FileTailSource(source_cfg("f", "file", path=str(tmp_path / "*.log")), sp)
    src.poll()
    assert lines_of(sp) == ["one", "two"]  # "thr" waits for its newline
    write(log, "ee\nfour\n")
    src.poll()
    assert lines_of(sp) == ["three", "four"]
    # logrotate (create): the old file is renamed, a new one appears; the old tail is finished first.
    write(log, "five-unterminated")
    os.rename(log, tmp_path / "app.log.1")
    write(log, "six\n", "w")
    src.poll()
    assert lines_of(sp) == ["five-unterminated", "six"]
    # copytruncate: same inode, smaller size -> start again at 0.
    with open(log, "w") as fh:
        fh.truncate(0)
    write(log, "seven\n")
    src.poll()
    assert lines_of(sp) == ["seven"]
    src.stop()


def test_restart_neither_loses_nor_repeats(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    write(log, "".join(f"l{i}\n" for i in range(100)))
    sp = Spool(tmp_path / "sp")
    cfg = source_cfg("f", "file", path=str(log))
    src = FileTailSource(cfg, sp)
    src.poll()
    got = lines_of(sp)
    src.stop()
    write(log, "".join(f"l{i}\n" for i in range(100, 150)))
    sp.close()  # "crash": the spool directory is all that survives
    sp2 = Spool(tmp_path / "sp")
    src2 = FileTailSource(cfg, sp2)
    src2.poll()
    got += lines_of(sp2)
    assert got == [f"l{i}" for i in range(150)]
    # Rotated while the service was down: the old file is finished, then the new one read.
    src2.stop()
    write(log, "l150\n")
    os.rename(log, tmp_path / "a.log.1")
    write(log, "l151\n", "w")
    src3 = FileTailSource(cfg, sp2)
    src3.poll()
    assert lines_of(sp2) == ["l150", "l151"]
    src3.stop()


def test_long_line_cut_and_skipped(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    write(log, "ok1\n" + "x" * 5000 + "\nok2\n")
    sp = Spool(tmp_path / "sp")
    src = FileTailSource(source_cfg("f", "file", path=str(log), max_line_bytes=1024), sp)
    src.poll()
    recs, _ = sp.read(100, 0.1)
    assert [len(r.line) for r in recs] == [3, 1024, 3]
    assert isinstance(recs[1], RejectedRecord)


def test_gz_import_once_and_resumable(tmp_path: Path) -> None:
    gz = tmp_path / "old.log.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("".join(f"g{i}\n" for i in range(5000)))
    sp = Spool(tmp_path / "sp")
    cfg = source_cfg("f", "file", path=str(tmp_path / "*.gz"))
    src = FileTailSource(cfg, sp)
    src.poll()
    src.poll()  # already imported: nothing more
    assert lines_of(sp) == [f"g{i}" for i in range(5000)]
    # A mark saying 2000 lines were spooled (an import cut short) resumes at line 2000.
    sp.append([], mark=(src.key(str(gz)), {"inode": gz.stat().st_ino, "lines": 2000}))
    src.poll()
    assert lines_of(sp) == [f"g{i}" for i in range(2000, 5000)]
