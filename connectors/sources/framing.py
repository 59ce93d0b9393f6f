"""Syslog stream framing (RFC 6587): newline-delimited and octet-counted frames on one connection.

Each frame is recognised on its own: ``<digits> <SP> <`` at a frame start (a
length, then a syslog message, which starts with ``<PRI>``) means octet counting
(RFC 5425/6587 §3.4.1); anything else runs to the next LF (§3.4.2), so senders
that mix both still work and a plain line such as ``200 OK ...`` is not
mistaken for a length. Memory stays bounded by ``max_line``: a
longer frame is cut at ``max_line`` bytes, handed on with a reason (so it is
dead-lettered, not silently lost) and the rest of it is skipped without being
kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAX_DIGITS = 10
_DIGIT_AFTER_LF = re.compile(rb"\n[1-9]")


@dataclass(slots=True)
class Frame:
    data: bytes
    reason: str | None = None
    """Why the frame is bad (``None`` when it is fine)."""


class Framer:
    """Feed bytes, get complete frames; keeps at most ``max_line`` (+ a few) bytes between calls."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._skip = 0
        """Bytes still to drop from an over-long octet-counted frame."""
        self._skip_to_lf = False
        """Dropping the rest of an over-long newline-delimited frame."""

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf
        buf += data
        if not self._skip and not self._skip_to_lf and len(buf) <= self.max_line:
            whole = self._whole_lines(buf)
            if whole is not None:
                return whole
        return self._scan(buf)

    @staticmethod
    def _whole_lines(buf: bytearray) -> list[Frame] | None:
        """The common case in one pass: newline-delimited lines only. None (use :meth:`_scan`) when a frame
        starts with a digit (maybe an octet count). The caller checked that the buffer, hence every line in
        it, is within the line limit."""
        last = buf.rfind(b"\n")
        # (+ 2: the partial frame after the last LF counts too: a complete octet frame there is due now)
        if last < 0 or 0x31 <= buf[0] <= 0x39 or _DIGIT_AFTER_LF.search(buf, 0, last + 2) is not None:
            return None
        text = bytes(buf[:last])
        del buf[:last + 1]
        lines = text.split(b"\n")
        if b"\r" in text:
            lines = [x.rstrip(b"\r") for x in lines]
        return [Frame(x) for x in lines if x]

    def _scan(self, buf: bytearray) -> list[Frame]:
        out: list[Frame] = []
        pos, end = 0, len(buf)
        while pos < end:
            if self._skip:
                n = min(self._skip, end - pos)
                pos += n
                self._skip -= n
                continue
            if self._skip_to_lf:
                i = buf.find(b"\n", pos)
                if i < 0:
                    pos = end
                    break
                pos = i + 1
                self._skip_to_lf = False
                continue
            first = buf[pos]
            if 0x31 <= first <= 0x39:  # octet counting starts with a non-zero digit
                sp = buf.find(b" ", pos, pos + _MAX_DIGITS + 1)
                if sp < 0 and end - pos <= _MAX_DIGITS and buf[pos:end].isdigit():
                    break  # the length is still arriving
                if sp > 0 and buf[pos:sp].isdigit() and sp + 1 >= end:
                    break  # "123 " so far: is a syslog message ("<PRI>...") coming?
                if sp > 0 and buf[pos:sp].isdigit() and buf[sp + 1] == 0x3C:  # "<": octet-counted syslog
                    n = int(buf[pos:sp])
                    body = sp + 1
                    if n > self.max_line:
                        if end - body < self.max_line:
                            break
                        out.append(Frame(bytes(buf[body:body + self.max_line]),
                                         f"frame of {n} bytes cut at the {self.max_line}-byte line limit"))
                        pos = body + self.max_line
                        self._skip = n - self.max_line
                        continue
                    if end - body < n:
                        break
                    out.append(Frame(bytes(buf[body:body + n]).rstrip(b"\r\n")))
                    pos = body + n
                    continue
            i = buf.find(b"\n", pos, pos + self.max_line + 1)
            if i < 0:
                if end - pos > self.max_line:
                    out.append(Frame(bytes(buf[pos:pos + self.max_line]),
                                     f"line longer than the {self.max_line}-byte limit; cut"))
                    pos += self.max_line
                    self._skip_to_lf = True
                    continue
                break
            line = bytes(buf[pos:i]).rstrip(b"\r")
            pos = i + 1
            if line:
                out.append(Frame(line))
        del buf[:pos]
        return out

    def close(self) -> list[Frame]:
        """The connection ended: a last line without LF is still a line; a half octet frame is reported."""
        out: list[Frame] = []
        if self._buf and not self._skip and not self._skip_to_lf:
            data = bytes(self._buf)
            head, _, rest = data.partition(b" ")
            if head.isdigit() and 0x31 <= data[0] <= 0x39 and rest.startswith(b"<") and int(head) > len(rest):
                out.append(Frame(data, f"connection closed inside an octet-counted frame (header says {int(head)} "
                                       f"bytes, {len(data) - len(head) - 1} arrived)"))
            else:
                out.append(Frame(data.rstrip(b"\r\n")))
        self._buf.clear()
        return out
