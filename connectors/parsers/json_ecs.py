"""``json``: events that are already ECS (or plain JSON objects), one per line.

The object is kept exactly as given (no field added), so that rule authors can
run ``soc detect --format json`` on exported events and get them back verbatim.
"""

from __future__ import annotations

import json
from typing import Any

from .base import ParseContext, ParseError

NAME = "json"


def sniff(line: str) -> bool:
    s = line.lstrip()
    return s.startswith("{") and ('"@timestamp"' in s or '"ecs"' in s or '"event"' in s)


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ParseError(f"JSON value is a {type(doc).__name__}, expected an object")
    return doc
