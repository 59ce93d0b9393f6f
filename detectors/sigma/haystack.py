"""The prefilter's hot steps: native (``_sigscan.c``, optional) with pure-Python twins of identical output.

``field_text``: the values a bucket's rules can read (:func:`compiler.value_extractor`), as the JSON list
orjson writes, case-folded (:func:`compiler.event_haystack`); ``b""`` when there is none; None when the event
has no such text (orjson refuses it): the engine then evaluates every rule of the logsource.
``keyword_text``: every string value of the event the same way (:func:`compiler.keyword_text_py`), for
keyword literals. ``select``: the candidate rules from the automata's matches (:func:`select_py`).

The C module writes the common event (exact dicts, lists, str, int, bool, None) in one call: collecting the
values, their JSON and lower-casing took ~25 % of a Windows event's time in Python. For anything else
(floats, integers beyond 64 bits, lone surrogates, other types, keys that are not str, deep nesting) the text
functions return None and the Python path runs, so the result is always the Python twin's
(``tests/sigma/test_sigscan.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compiler import LEAF, SPACED, PruneTree, _sigscan, event_haystack, keyword_text_py

#: the native writer, or None (pure Python)
C_FIELD_TEXT: Callable[[dict[str, Any], tuple[Any, ...]], bytes | None] | None = \
    _sigscan.field_text if _sigscan is not None else None

#: the native keyword text (:func:`compiler.keyword_text_py`'s twin), or None
C_KEYWORD_TEXT: Callable[[dict[str, Any]], bytes | None] | None = \
    _sigscan.keyword_text if _sigscan is not None else None

#: literal id -> (rules it triggers at once, rules it triggers if each of their other clauses (tuples of
#: literal ids) has a found literal)
Triggers = list[tuple[frozenset[int], tuple[tuple[int, tuple[tuple[int, ...], ...]], ...]]]
#: Aho-Corasick matches as ``ahocorasick_rs`` gives them: (pattern, start, end)
Matches = list[tuple[int, int, int]]

#: the native candidate selection (:func:`select_py`'s twin), or None
C_SELECT: Callable[[Matches, Matches, int, bytes, Triggers, list[int]], list[int]] | None = \
    _sigscan.select if _sigscan is not None else None

#: a node of the native walk: (keys kept whole, the same in the frozenset's iteration order, subtrees,
#: names of keys written with spaces or None, number of kept keys, the native walk's memo of keys with spaces)
Node = tuple[frozenset[str], tuple[str, ...], tuple[tuple[str, Any], ...], frozenset[str] | None, int, dict[str, bool]]

#: the native Aho-Corasick DFA (``Automaton(patterns: list[bytes], max_cells)``: which patterns occur in a text;
#: ValueError beyond max_cells states x byte classes), or None
C_AUTOMATON: Callable[[list[bytes], int], Any] | None = _sigscan.Automaton if _sigscan is not None else None

#: the native prefilter in one call: field text, keyword text, both automata and the selection, without bytes
#: objects or match tuples in between (``scan(doc, node, fields, text, live, triggers, always)``); None from it:
#: a text needs the Python path (the caller runs the twins: ``field_text_py``/``keyword_text_py``, ``ahocorasick_rs``
#: and :func:`select_py`)
C_SCAN: Callable[[dict[str, Any], Node, Any, Any, bytes, Triggers, list[int]], list[int] | None] | None = \
    _sigscan.scan if _sigscan is not None else None


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


def keyword_text(doc: dict[str, Any]) -> bytes | None:
    """Native when it can, else Python (the engine inlines this)."""
    if C_KEYWORD_TEXT is not None:
        hay = C_KEYWORD_TEXT(doc)
        if hay is not None:
            return hay
    return keyword_text_py(doc)


def field_text(doc: dict[str, Any], node: Node, extract: Callable[[dict[str, Any], list[Any]], None]) -> bytes | None:
    """Native when it can, else Python (the engine inlines this)."""
    if C_FIELD_TEXT is not None:
        hay = C_FIELD_TEXT(doc, node)
        if hay is not None:
            return hay
    return field_text_py(doc, extract)


def select_py(fields: Matches, text: Matches, offset: int, live: bytes, triggers: Triggers,
              always: list[int]) -> list[int]:
    """The candidate rules of an event from its bucket's automaton matches (sorted).

    ``fields``/``text``: the matches of the field and keyword automata (a keyword pattern's literal id is
    ``offset`` + pattern). A rule is a candidate if it is always evaluated, or a found literal triggers it and
    each of its other checked clauses has a found literal. Only found literals that trigger some rule
    (``live[id]``) are looped over: most only narrow another literal's rules. ``_sigscan.select`` is the
    native twin (it takes the match lists as they come, without a set of ids in between).
    """
    found = {m[0] for m in fields}
    found.update(m[0] + offset for m in text)
    cand = set(always)
    for lit in found:
        if not live[lit]:
            continue
        plain, checked = triggers[lit]
        if plain:
            cand |= plain
        for idx, rest in checked:
            if idx in cand:
                continue
            for c in rest:
                if found.isdisjoint(c):
                    break
            else:
                cand.add(idx)
    return sorted(cand)
