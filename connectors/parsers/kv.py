"""``key=value`` tokenizer shared by the parsers of key=value logs (FortiGate, iptables...).

Values may be double-quoted (``msg="a b=c"``) and then keep their spaces and ``=``;
unquoted values run to the next blank. A quote left open is taken literally, as
Elastic's FortiGate pipeline does, so a truncated line still yields its pairs. Keys
start after a blank (or at the start), which keeps the scan linear on hostile input.
"""

from __future__ import annotations

import re

#: (key, quoted value, unquoted value) - exactly one of the two values is non-empty.
PAIR = re.compile(r'(?<!\S)([^\s="]++)=(?:"([^"]*)"|(\S*))')


def parse_kv(text: str) -> dict[str, str]:
    """Return the ``key=value`` pairs of ``text`` (quotes removed; a later key wins)."""
    return {k: q or u for k, q, u in PAIR.findall(text)}
