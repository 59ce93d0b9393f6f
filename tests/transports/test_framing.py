"""RFC 6587 framing: newline and octet counting on one stream, split anywhere, bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sources.framing import Framer


def feed_bytewise(framer: Framer, data: bytes) -> list[tuple[bytes, str | None]]:
    out = []
    for i in range(len(data)):
        out += [(f.data, f.reason) for f in framer.feed(data[i:i + 1])]
    return out


def test_mixed_framing_in_one_stream_any_split() -> None:
    stream = b"<13>plain one\n11 <13>counted<13>two\r\n5 <a\nbc\n"
    whole = [(f.data, f.reason) for f in Framer(1024).feed(stream)]
    assert whole == [(b"<13>plain one", None), (b"<13>counted", None), (b"<13>two", None), (b"<a\nbc", None)]
    assert feed_bytewise(Framer(1024), stream) == whole


def test_long_newline_line_is_cut_and_rest_skipped() -> None:
    f = Framer(16)
    out = f.feed(b"x" * 10) + f.feed(b"y" * 30) + f.feed(b"z" * 5 + b"\nnext\n")
    assert [(o.data, bool(o.reason)) for o in out] == [(b"x" * 10 + b"y" * 6, True), (b"next", False)]
    assert len(f._buf) == 0


def test_long_octet_frame_is_cut_and_rest_skipped() -> None:
    f = Framer(16)
    body = b"<" + b"a" * 99
    out = feed_bytewise(f, b"100 " + body + b"<1>ok\n")
    assert out[0] == (body[:16], out[0][1]) and out[0][1] and "100 bytes" in out[0][1]
    assert out[1] == (b"<1>ok", None)


def test_memory_stays_bounded_by_the_limit() -> None:
    f = Framer(1024)
    for _ in range(200):
        f.feed(b"q" * 4096)
        assert len(f._buf) <= 1024 + 16


def test_close_keeps_last_line_and_reports_truncated_octet_frame() -> None:
    f = Framer(1024)
    assert f.feed(b"tail without newline") == []
    assert [(x.data, x.reason) for x in f.close()] == [(b"tail without newline", None)]
    g = Framer(1024)
    assert g.feed(b"50 <13>only a bit") == []
    (frame,) = g.close()
    assert frame.reason and "50" in frame.reason


def test_lines_starting_with_numbers_are_plain_lines() -> None:
    data = b"12345\n2026-01-01 msg\n200 OK GET /index\n10.0.0.1 - - [x] GET\n"
    assert [f.data for f in Framer(64).feed(data)] == [b"12345", b"2026-01-01 msg", b"200 OK GET /index",
                                                        b"10.0.0.1 - - [x] GET"]
    assert feed_bytewise(Framer(64), data) == [(x, None) for x in data.split(b"\n")[:-1]]


class _ScanOnly(Framer):
    """The frame-by-frame scanner alone: the reference the one-pass fast path must agree with."""

    @staticmethod
    def _whole_lines(buf: bytearray) -> None:
        return None


_PIECES = st.one_of(
    st.sampled_from([b"<13>plain line\n", b"<189>date=2026 x=1\r\n", b"\n", b"\r\n", b"200 OK GET /\n",
                     b"11 <13>counted", b"5 <a\nb", b"12", b" ", b"<", b"\n7", b"x" * 70 + b"\n", b"\x00\xff"]),
    st.binary(max_size=40),
)


@given(pieces=st.lists(_PIECES, max_size=30), cuts=st.lists(st.integers(0, 2000), max_size=12),
       limit=st.sampled_from([16, 64, 1024]))
@settings(max_examples=400, deadline=None)
def test_the_one_pass_path_frames_exactly_as_the_scanner(pieces: list[bytes], cuts: list[int], limit: int) -> None:
    """Any stream, cut into reads anywhere, gives the same frames (data and reasons) and leaves the same
    partial frame buffered as the frame-by-frame scanner, including at close."""
    data = b"".join(pieces)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    fast, ref = Framer(limit), _ScanOnly(limit)
    for a, b in zip(bounds, bounds[1:], strict=False):
        got = [(f.data, f.reason) for f in fast.feed(data[a:b])]
        assert got == [(f.data, f.reason) for f in ref.feed(data[a:b])]
        assert fast._buf == ref._buf
    assert [(f.data, f.reason) for f in fast.close()] == [(f.data, f.reason) for f in ref.close()]
