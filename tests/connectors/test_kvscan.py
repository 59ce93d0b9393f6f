"""The C tokeniser of FortiGate records (``connectors/parsers/_kvscan.c``) against its Python definition.

Both must give the same pairs in the same order on any text: generated text over the characters that
matter to the grammar (blanks of every kind, ``=``, quotes, word and non-word characters, ``N/A``, and
non-ASCII text of each width CPython stores), and every FortiGate line in ``../shared``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.parsers import fortigate

try:
    from connectors.parsers import _kvscan
except ImportError:  # pragma: no cover - only without a C compiler
    _kvscan = None  # type: ignore[assignment]

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
needs_c = pytest.mark.skipif(_kvscan is None, reason="connectors.parsers._kvscan is not built")


def _items(d: dict[str, str]) -> list[tuple[str, str]]:
    return list(d.items())


def test_extension_is_built() -> None:
    """`pip install -e .` builds it where there is a compiler; a silent build failure would only cost
    speed, so the test suite says so unless told that pure Python is expected."""
    if os.environ.get("SOC_ALLOW_PURE_PYTHON") == "1":
        pytest.skip("SOC_ALLOW_PURE_PYTHON=1")
    assert _kvscan is not None, "connectors/parsers/_kvscan.c was not built: run `pip install -e .` with gcc"
    assert fortigate._pairs is _kvscan.pairs


@needs_c
@pytest.mark.parametrize("text", [
    "", " ", "=", "a=", "a=b", " a=b ", "a=b c=d", 'a="x y" b=2', 'a="x y"b=2 c=3', 'a="open b=1',
    'a="" b=N/A c=N/Ax d="N/A"', "x-y=1 z=2", 'k"=1 m=2', "a==b", "a=b=c", "\ta=1\nb=2\rc=3\x0bd=4\x0ce=5",
    "a=1\x1cb=2", "a=1\x85b=2", "a=1\u3000b=2", "é=1 ké=2 k=é", "k=😀 😀=1", "a=1 a=2 b=3 a=4", "=x a=1",
    'a="x\ny" b="\t"', "a=b\\ c=d",
])
def test_known_texts(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


_chars = st.sampled_from([" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u3000", "=", '"', "a", "Z",
                          "0", "_", "-", "/", "N", "A", ".", "é", "😀", "\\"])


@needs_c
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(_chars, st.sampled_from(["N/A", "srcip=", ' msg="', 'x="', "key=value "])),
                max_size=40).map("".join))
def test_generated_texts(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text(text: str) -> None:
    assert _items(_kvscan.pairs(text)) == _items(fortigate._pairs_py(text))


@needs_c
def test_shared_fortigate_lines() -> None:
    lines: list[str] = []
    for path in sorted((SHARED / "logs").rglob("*")):
        if path.is_file() and "forti" in str(path).lower() and path.suffix in (".log", ".ini", ".txt"):
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        pytest.skip("no FortiGate lines in ../shared/logs")
    for line in lines:
        msg = re.sub(r"^.*?(?=\w+=)", "", line, count=1)
        assert _items(_kvscan.pairs(msg)) == _items(fortigate._pairs_py(msg)), line
    assert len(lines) > 50


@needs_c
def test_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        _kvscan.pairs(b"a=1")  # type: ignore[arg-type]
