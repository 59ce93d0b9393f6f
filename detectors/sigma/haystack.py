"""The prefilter's texts of an event: native (``_sigscan.c``, optional) with a pure-Python twin of identical output.

``field_text``: the values a bucket's rules can read (:func:`compiler.value_extractor`), as the JSON list
orjson writes, case-folded (:func:`compiler.event_haystack`); ``b""`` when there is none; None when the event
has no such text (orjson refuses it): the engine then evaluates every rule of the logsource. (The whole
event's text for keyword literals stays orjson's, folded by ``_sigscan.fold``: a native writer of every key and
value was slower than orjson there.)

The C module writes the common event (exact dicts, lists, str, int, bool, None) in one call: collecting the
values, their JSON and lower-casing took ~25 % of a Windows event's time in Python. For anything else
(floats, integers beyond 64 bits, lone surrogates, other types, keys that are not str, deep nesting) it
returns None and the Python path runs, so the result is always the Python twin's
(``tests/sigma/test_sigscan.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compiler import LEAF, SPACED, PruneTree, _sigscan, event_haystack

#: the native writer, or None (pure Python)
C_FIELD_TEXT: Callable[[dict[str, Any], tuple[Any, ...]], bytes | None] | None = \
    _sigscan.field_text if _sigscan is not None else None

#: a node of the native walk: (keys kept whole, the same in the frozenset's iteration order, subtrees,
#: names of keys written with spaces or None, number of kept keys, the native walk's memo of keys with spaces)
Node = tuple[frozenset[str], tuple[str, ...], tuple[tuple[str, Any], ...], frozenset[str] | None, int, dict[str, bool]]


def extractor_node(tree: PruneTree) -> Node:
    """The prune tree as the native walk reads it; visits keys in :func:`compiler.value_extractor`'s order."""
    leaves = frozenset(k for k, v in tree.items() if k is not SPACED and v is LEAF)
    subs = tuple((k, extractor_node(v)) for k, v in tree.items() if k is not SPACED and v is not LEAF)
    names = tree.get(SPACED) or None
    return (leaves, tuple(leaves), subs, frozenset(names) if names else None, len(leaves), {})


def field_text_py(doc: dict[str, Any], extract: Callable[[dict[str, Any], list[Any]], None]) -> bytes | None:
    """The Python twin of ``_sigscan.field_text`` (``extract`` is the bucket's ``value_extractor``)."""
    values: list[Any] = []
    extract(doc, values)
    if not values:
        return b""
    return event_haystack(values, False)


def field_text(doc: dict[str, Any], node: Node, extract: Callable[[dict[str, Any], list[Any]], None]) -> bytes | None:
    """Native when it can, else Python (the engine inlines this)."""
    if C_FIELD_TEXT is not None:
        hay = C_FIELD_TEXT(doc, node)
        if hay is not None:
            return hay
    return field_text_py(doc, extract)
