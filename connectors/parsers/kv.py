"""``key=value`` tokenizer shared by the parsers of key=value logs (FortiGate, iptables...).

Values may be double-quoted (``msg="a b=c"``) and then keep their spaces and ``=``;
unquoted values run to the next blank. A quote left open is taken literally, as
Elastic's FortiGate pipeline does, so a truncated line still yields its pairs.
"""

from __future__ import annotations

import re

_PAIR = re.compile(r'([^\s="]+)=("[^"]*"|\S*)')


def parse_kv(text: str) -> dict[str, str]:
    """Return the ``key=value`` pairs of ``text`` (quotes removed; a later key wins)."""
    out: dict[str, str] = {}
    for key, value in _PAIR.findall(text):
        if value[:1] == '"' and len(value) >= 2 and value[-1] == '"':
            value = value[1:-1]
        out[key] = value
    return out
