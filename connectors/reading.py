"""Reading whole files as records: plain text, gzip, and ``.evtx`` (rendered to winlog JSON lines).

Used by ``soc parse``, ``soc detect``, ``soc ingest`` and whole-file imports. Lines are
decoded as UTF-8 with ``surrogateescape`` so that invalid bytes reach the pipeline
(and its dead-letter store) instead of crashing the reader.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _open(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    p = Path(path)
    with p.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(p, "rb")  # type: ignore[return-value]
    return p.open("rb")


def is_evtx(path: str) -> bool:
    if path == "-":
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"ElfFile\x00"
    except OSError:
        return False


def iter_lines(path: str, max_line_bytes: int = 1_048_576) -> Iterator[str]:
    """Yield the records of ``path`` without their line ends; ``.evtx`` files yield one JSON object per record.

    A line longer than ``max_line_bytes`` is cut there (the rest of it is dropped) so memory stays bounded;
    the cut line still reaches the parser, which dead-letters it if it cannot be read.
    """
    if is_evtx(path):
        from connectors.evtx_reader import iter_evtx, record_line

        for record, error in iter_evtx(Path(path)):
            if record is not None:
                yield record_line(record)
            else:
                # Reaches the parser, which dead-letters it with this reason.
                yield json.dumps({"evtx_error": error or "unreadable record", "file": path})
        return
    fh = _open(path)
    try:
        while True:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                break
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                # Skip the rest of an over-long line.
                while True:
                    more = fh.readline(max_line_bytes)
                    if not more or more.endswith(b"\n"):
                        break
                raw = raw[:max_line_bytes]
            line = raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
            if line.strip():
                yield line
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
