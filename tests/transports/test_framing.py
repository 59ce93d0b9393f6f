"""RFC 6587 framing: newline and octet counting on one stream, split anywhere, bounded."""

from __future__ import annotations

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
