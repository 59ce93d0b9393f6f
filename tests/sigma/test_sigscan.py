"""The native prefilter (``detectors/sigma/_sigscan.c``) against its Python twins.

``_sigscan.field_text(doc, node)`` must give exactly ``haystack.field_text_py(doc, extract)`` (the bucket's
``value_extractor`` + ``event_haystack``) or None (declined: the engine then runs the twin),
``_sigscan.keyword_text(doc)`` exactly ``compiler.keyword_text_py(doc)`` or None, ``_sigscan.select`` exactly
``haystack.select_py`` and ``_sigscan.fold(raw)`` exactly ``compiler.fold_py(raw)``, on the shared EVTX events,
the SigmaHQ regression samples (every bucket the engine builds for them) and generated hostile events.
``_sigscan.Automaton(patterns).find(text)`` must list exactly the patterns ``ahocorasick_rs``'s overlapping search
finds, and ``_sigscan.scan`` (texts, automata and selection in one call) give exactly the candidates of the pure
Python path (``field_text_py``/``keyword_text_py``, ``ahocorasick_rs``, ``select_py``) or None (declined).
"""

from __future__ import annotations

import random
import sys
from typing import Any

import ahocorasick_rs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.sigma import compiler, haystack
from detectors.sigma.compiler import (
    event_haystack,
    event_strings,
    fold_py,
    keyword_text_py,
    prune_tree,
    value_extractor,
)
from tests.extensions import require_built
from tests.sigma.conftest import shared_evtx_events
from tests.sigma.evtx_adapter import to_winlog

_c = haystack._sigscan
needs_c = pytest.mark.skipif(_c is None, reason="detectors.sigma._sigscan is not built")


def test_extension_is_built() -> None:
    require_built(_c, "detectors/sigma/_sigscan.c")
    from detectors.sigma import engine

    assert engine.C_FIELD_TEXT is _c.field_text
    assert engine.C_KEYWORD_TEXT is _c.keyword_text
    assert engine.C_SELECT is _c.select
    assert engine.C_SCAN is _c.scan and engine.C_AUTOMATON is _c.Automaton
    assert compiler.fold is _c.fold


def _same_keywords(doc: Any) -> bool:
    """C and twin agree on the keyword text of ``doc``; True if C wrote it itself."""
    want = keyword_text_py(doc)
    got = _c.keyword_text(doc)
    assert got is None or got == want, (doc, got, want)
    assert haystack.keyword_text(doc) == want
    if want is not None and want:  # every string a keyword can match is in it, as the field text writes it
        strings = event_strings(doc)
        assert want == event_haystack(strings, False)
    return got is not None


def _same(doc: Any, tree: dict[str, Any]) -> bool:
    """C and twin agree on ``doc``; True if C wrote the text itself (did not decline)."""
    node, extract = haystack.extractor_node(tree), value_extractor(tree)
    want = haystack.field_text_py(doc, extract)
    got = _c.field_text(doc, node)
    assert got is None or got == want, (doc, got, want)
    assert haystack.field_text(doc, node, extract) == want
    try:
        raw = orjson.dumps(doc, default=lambda _: None, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, ValueError):
        return got is not None
    assert _c.fold(raw) == fold_py(raw)
    _same_keywords(doc)
    return got is not None


def _select_agrees(b: Any, fields: list[Any], text: list[Any]) -> None:
    args = (fields, text, b.n_fields, b.live, b.triggers, b.always)
    assert _c.select(*args) == haystack.select_py(*args)


def _ids(finder: Any, text: bytes | None) -> list[tuple[int, int, int]]:
    return finder.matches(text) if finder is not None and text else []


def _pure_candidates(b: Any, ev: dict[str, Any]) -> list[int] | None:
    """The engine's prefilter in pure Python (``ahocorasick_rs`` automata), or None when an event has no text."""
    from detectors.sigma import engine

    if not b.finders:
        engine._build_finders(b)
    fields = text = None
    if b.fields is not None:
        fields = haystack.field_text_py(ev, b.extract)
        if fields is None:
            return None
    if b.text is not None:
        text = keyword_text_py(ev)
        if text is None:
            return None
    return haystack.select_py(_ids(b.fields, fields), _ids(b.text, text), b.n_fields, b.live, b.triggers, b.always)


def _scan_agrees(b: Any, ev: dict[str, Any]) -> bool:
    """The native one-call prefilter gives the pure path's candidates; True if it did not decline."""
    assert b.native
    got = _c.scan(ev, b.node, b.fac, b.kac, b.live, b.triggers, b.always)
    want = _pure_candidates(b, ev)
    declines = (b.fac is not None and _c.field_text(ev, b.node) is None) or \
        (b.kac is not None and _c.keyword_text(ev) is None)
    assert (got is None) == declines, ev
    assert got is None or got == want, (ev, got, want)
    return got is not None


def _buckets_agree(engine: Any, events: list[dict[str, Any]]) -> tuple[int, int]:
    """(events checked, events C declined) over every bucket the engine uses for them."""
    declined = 0
    checked = 0
    selected = 0
    natives = 0
    for ev in events:
        b = engine._event_bucket(ev)
        if b is None:
            continue
        checked += 1
        want = haystack.field_text_py(ev, b.extract)
        got = _c.field_text(ev, b.node)
        if got is None:
            declined += 1
        else:
            assert got == want, ev
        raw = orjson.dumps(ev)
        assert _c.fold(raw) == fold_py(raw) == event_haystack(ev, False), ev
        kw = _c.keyword_text(ev)
        if kw is None:
            declined += 1
        else:
            assert kw == keyword_text_py(ev), ev
        fields = b.fields.matches(want) if b.fields is not None and want else []
        text = b.text.matches(kw) if b.text is not None and kw else []
        _select_agrees(b, fields, text)
        selected += bool(fields or text)
        if b.triggers and b.native:
            _scan_agrees(b, ev)
        natives += b.native
    assert selected > checked // 2
    assert natives > checked // 2  # most events' buckets have native automata
    return checked, declined


@needs_c
def test_regression_samples(sigmahq_engine, regression_cases) -> None:
    events = [to_winlog(e) for _, _, raw in regression_cases for e in raw]
    checked, declined = _buckets_agree(sigmahq_engine, events)
    assert checked > 200
    assert declined < checked // 20  # the common event takes the native path


@needs_c
def test_shared_evtx(sigmahq_engine) -> None:
    events = shared_evtx_events()
    checked, declined = _buckets_agree(sigmahq_engine, events)
    assert checked > 1000
    assert declined == 0


_TREE = prune_tree(["winlog.event_data.Image", "winlog.event_data.CommandLine", "~winlog.event_data.SourceName",
                    "winlog.channel", "process.name", "a.b.c.d", "a.x", "list", "url.original", "n"])


class _Str(str):
    pass


_pieces = st.sampled_from(
    ["a", "Z", "K", " ", "\\", '"', "/", "\x00", "\x1f", "\x7f", "\x80", "é", "İ", "ſ", "\u212a", "ß", "Σ", "😀",
     "\ud800", "\udfff", "\u2028", "\n", "\t", "Image", "CommandLine", "Source Name", "SourceName", "C:\\X.EXE",
     "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{"])
_text = st.lists(_pieces, max_size=8).map("".join)
_keys = st.one_of(st.sampled_from(["winlog", "event_data", "Image", "CommandLine", "Source Name", "channel",
                                   "process", "name", "a", "b", "c", "d", "x", "list", "url", "original", "event",
                                   "n", "Source  Name", "winlog.channel", "a.b.c.d"]),
                  _text, st.integers(-3, 3), st.none(), st.booleans(), st.tuples(st.just(" "), st.just("a")),
                  _text.map(_Str))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.floats(),
                     _text, _text.map(_Str), st.just(2**64 - 1), st.just(-2**63), st.just(2**64),
                     st.just(-2**63 - 1), st.sampled_from([b"x", (1, "A"), {1, 2}, frozenset()]))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_keys, inner, max_size=5)), max_leaves=25)
_docs = st.dictionaries(_keys, _values, max_size=8)


@needs_c
@settings(max_examples=800, deadline=None)
@given(_docs)
def test_generated_hostile_events(doc: dict[Any, Any]) -> None:
    _same(doc, _TREE)


@needs_c
def test_known_hostile_events() -> None:
    deep: Any = "X"
    for _ in range(400):
        deep = [deep]
    deep_dict: Any = {"d": "x"}
    for _ in range(300):
        deep_dict = {"a": deep_dict}
    long_path = prune_tree([".".join(["a"] * 250) + ".b"])
    cases = [
        {"winlog": {"event_data": {"Image": "C:\\WINDOWS\\X.EXE", "Source Name": "İſK", "Other": 1}}},
        {"winlog": {"event_data": {f"K{i}": i for i in range(40)} | {"Image": "x", "Source Name": 5}}},
        {"winlog": {"channel": "Security" * 500, "event_data": {"CommandLine": "a\x00b\x01\x1f\"\\" * 300}}},
        {"list": [1, -1, 2**63 - 1, -2**63, 2**64 - 1, True, False, None, "", {}, []]},
        {"list": [2**64]}, {"list": [-2**63 - 1]}, {"list": 1.5}, {"list": float("nan")}, {"n": 1e300},
        {"list": "\ud800"}, {"\ud800": "x"}, {"event": {"original": "\ud800", "kind": "ALERT"}},
        {"event": {"original": "X", "kind": "ALERT"}, "list": "İ"}, {"event": "original"},
        {1: "x", "list": "y"}, {("a", " "): 1, "winlog": {"event_data": {(" ", "x"): 1, 5: 2, "Image": "I"}}},
        {"list": deep}, {"a": deep_dict}, {"list": _Str("Sub")}, {_Str("list"): "v"},
        {"winlog": {"event_data": {"Source Name": "ok"}, "channel": b"bytes"}},
        {"url": {"original": "ſ" * 9 + "K" * 9 + "\u212a"}}, {},
    ]
    for doc in cases:
        _same(doc, _TREE)
    for doc in ({"a": deep_dict}, deep_dict):
        node, extract = haystack.extractor_node(long_path), value_extractor(long_path)
        want = haystack.field_text_py(doc, extract)
        got = _c.field_text(doc, node)
        assert got is None or got == want
    # keyword text: event.original skipped at any depth (as compiler._walk does), empty strings and non-strings
    # left out, subclasses and non-str keys next to a raw record declined (the twin decides)
    kw_cases: list[Any] = [
        {"event": {"original": "RAW", "kind": "K", "event": {"original": "inner", "x": "Y"}}, "m": ["", "Z", 1]},
        {"sub": {"event": {"original": "RAW", "code": "C"}, "v": "V"}, "event": "E"},
        {"event": {"original": "R"}, 5: "five", "k": None}, {"event": {"original": "R", 5: "five"}},
        {"event": {"original": "R", _Str("x"): "y"}}, {"event": {"original": "R", "event": "plain"}},
        {"event": {"kind": "no raw record"}, "t": (1, "in a tuple"), "b": b"bytes", "f": 1.5},
        {"l": [[["A"]], {"event": {"original": "R", "s": "S"}}]}, {"s": _Str("S")}, {"d": {"x": _Str("S")}},
        {"event": {"original": "R"}, "x": [_Str("S")]}, {"x": "\ud800"}, {"x": ["", ""]}, {"x": "\x00\x1f\"\\"},
        {"x": "İſ\u212aß" * 20}, {"x": "A" * 15, "y": "B" * 16, "z": "C\\" * 17},
    ]
    for doc in kw_cases:
        _same_keywords(doc)
    very_deep: Any = "X"
    for _ in range(5000):
        very_deep = [very_deep]
    assert _c.keyword_text({"x": very_deep}) is None  # declined beyond MAX_DEPTH
    assert keyword_text_py({"x": very_deep}) is None  # too deep to walk: every rule is evaluated
    assert _same_keywords({"x": deep}) is False and keyword_text_py({"x": deep}) == b'["x"]'
    assert _c.keyword_text(["not", "a dict"]) is None
    # the native path writes the common event itself
    assert _same({"winlog": {"event_data": {"Image": "C:\\X.EXE", "Source Name": "S"}, "channel": "Sec"},
                  "process": {"name": "İſ"}, "list": [1, "a", None, True]}, _TREE)


@needs_c
def test_bad_node_is_an_error_not_a_crash() -> None:
    for node in (None, (), (1, 2, 3, 4, 5, 6), (frozenset(), (), ((1,),), None, 0, {}),
                 (frozenset(), ("k",), ((1, 2, 3),), None, 1, {}), (frozenset(), (), (), frozenset(), 0, None)):
        with pytest.raises(TypeError):
            _c.field_text({"k": {"x": 1}}, node)
    assert _c.field_text([], haystack.extractor_node(_TREE)) is None  # not a dict: the twin decides
    with pytest.raises(TypeError):
        _c.fold("text")
    with pytest.raises(UnicodeDecodeError):  # as the twin: the text is orjson's, always valid UTF-8
        _c.fold(b"A\xff")


@needs_c
def test_every_length_and_position() -> None:
    """Strings of every length around the 8- and 16-byte chunks, with a character that needs escaping, a capital
    or a non-ASCII character at every position (the last chunk of a string is read past its end)."""
    node, extract = haystack.extractor_node(_TREE), value_extractor(_TREE)
    for n in range(0, 50):
        for special in ("", '"', "\\", "\n", "\x01", "\x7f", "Q", "é", "İ", "\u212a"):
            for pos in range(0, n + 1, 3) if special else (0,):
                text = ("aB" * 30)[:pos] + special + ("Cd" * 30)[:n - pos]
                doc = {"list": [text, text[1:], text[:-1]], "process": {"name": text}, "x": text}
                want = haystack.field_text_py(doc, extract)
                assert _c.field_text(doc, node) == want, text
                assert _c.keyword_text(doc) == keyword_text_py(doc), text


@needs_c
def test_select_checks_its_input() -> None:
    """Bad tables or matches raise (never crash); on valid ones C and twin agree."""
    trig = [(frozenset({3}), ((4, ((1,),)), (5, ((9, 1000),)))), (frozenset(), ()),
            (frozenset({4}), ((6, ((0,), (1, 2))),)), (frozenset(), ()), (frozenset({8}), ())]
    live = bytes([1, 0, 1, 0, 1])
    for fields in ([], [(0, 0, 1)], [(0, 0, 1), (1, 3, 4)], [(1, 0, 1)], [(2, 0, 1), (0, 1, 2), (1, 5, 6)]):
        for text in ([], [(0, 0, 1)], [(1, 0, 1), (1, 4, 5)]):
            args = (fields, text, 3, live, trig, [7])
            assert _c.select(*args) == haystack.select_py(*args), args
    assert _c.select([(0, 0, 1), (1, 0, 1), (0, 2, 3)], [], 3, live, trig, []) == [3, 4]
    assert _c.select([(0, 0, 1)], [], 1, live, trig, []) == [3]
    assert _c.select([(0, 0, 1)], [(0, 0, 1)], 1, live, trig, []) == [3, 4]  # text pattern 0 is literal 1
    big = [(frozenset({i}), ()) for i in range(5000)]  # more literals than the stack buffer
    assert _c.select([(4999, 0, 1), (0, 0, 1)], [], 0, b"\1" * 5000, big, []) == [0, 4999]
    for fields, text, exc in (([(5, 0, 1)], [], IndexError), ([], [(2, 0, 1)], IndexError),
                              ([(-1, 0, 1)], [], IndexError), ([("a", 0, 1)], [], TypeError),
                              ([(2**80, 0, 1)], [], OverflowError), ([()], [], TypeError), ([[0, 0, 1]], [], TypeError),
                              ([None], [], TypeError)):
        with pytest.raises(exc):
            _c.select(fields, text, 3, live, trig, [])
    for bad in ([None] * 5, [(1, 2)] * 5, [(frozenset(), [1])] * 5, [(frozenset(), ((1,),))] * 5,
                [(frozenset(), ((1, [2]),))] * 5, [(frozenset(), ((1, (frozenset({2}),)),))] * 5,
                [(set(), ())] * 5, [(frozenset(), ((1, (("x",),)),))] * 5):
        with pytest.raises((TypeError, ValueError)):
            _c.select([(0, 0, 1)], [], 0, b"\1" * 5, bad, [])
    with pytest.raises(ValueError):
        _c.select([(0, 0, 1)], [], 0, b"\1", trig, [])  # live too short
    with pytest.raises(ValueError):
        _c.select([], [], -1, live, trig, [])
    with pytest.raises(TypeError):
        _c.select({0}, [], 0, live, trig, [])  # matches must be a list


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40), _text)
def test_fold(raw: bytes, text: str) -> None:
    for b in (raw, raw.upper(), text.encode("utf-8", "surrogatepass"), orjson.dumps(text.encode("utf-16", "surrogatepass")
                                                                                     .decode("utf-16", "replace"))):
        try:
            want = fold_py(b)
        except UnicodeDecodeError:
            with pytest.raises(UnicodeDecodeError):
                _c.fold(b)
            continue
        assert _c.fold(b) == want


@needs_c
def test_references_held() -> None:
    s = "unique-" + "x" * 20
    doc = {"list": [s], "winlog": {"channel": s}}
    before = sys.getrefcount(s)
    node = haystack.extractor_node(_TREE)
    for _ in range(1000):
        _c.field_text(doc, node)
        _c.fold(b"ABC\xc4\xb0" * 3)
        _c.field_text({"list": [s, 1.5]}, node)  # declined half-way
        _c.keyword_text(doc)
        _c.keyword_text({"event": {"original": s, "k": s}, "x": [s, _Str("y")]})  # declined half-way
    assert sys.getrefcount(s) == before
    idx = 10**6 + 2  # not a cached small int
    trig = [(frozenset(), ())] * 2 + [(frozenset({idx}), ((idx + 1, ((1,),)),))]
    fields = [(2, 10**6, 10**6 + 1), (1, 10**6, 10**6 + 1)]
    before = sys.getrefcount(idx), sys.getrefcount(fields[0]), sys.getrefcount(trig[2])
    for _ in range(1000):
        assert _c.select(fields, [], 0, b"\0\0\1", trig, [idx]) == [idx, idx + 1]
        with pytest.raises(IndexError):
            _c.select(fields + [(3, 0, 1)], [], 0, b"\0\0\1", trig, [idx])
    assert (sys.getrefcount(idx), sys.getrefcount(fields[0]), sys.getrefcount(trig[2])) == before


# --- the native automaton and the one-call prefilter

def _find_py(patterns: list[bytes], text: bytes) -> list[int]:
    return sorted({m[0] for m in ahocorasick_rs.BytesAhoCorasick(patterns).find_matches_as_indexes(text, overlapping=True)})


@needs_c
def test_automaton_finds_what_ahocorasick_finds() -> None:
    rnd = random.Random(9)
    alphabets = [b"ab", b"abc\\\"", b'a\\"\x00\xff,[]', bytes(range(256)), "İſ\u212aßé".encode() + b"ks"]
    for _ in range(1500):
        alpha = rnd.choice(alphabets)
        pats = list(dict.fromkeys(bytes(rnd.choice(alpha) for _ in range(rnd.randint(1, 7)))
                                  for _ in range(rnd.randint(1, 40))))
        auto = _c.Automaton(pats)
        for _ in range(4):
            text = bytes(rnd.choice(alpha) for _ in range(rnd.randint(0, 300)))
            for t in (text, text + pats[0], pats[-1] + text):
                assert auto.find(t) == _find_py(pats, t), (pats, t)
    every = [bytes([i, (i * 7) % 256]) for i in range(256)] + [b"\xff\x00\x01", b"\x00", b"a" * 200]
    auto = _c.Automaton(every)
    assert auto.sizes()[2] == 257  # every byte value in a pattern: 257 byte classes
    for _ in range(200):
        t = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 400)))
        assert auto.find(t) == _find_py(every, t)
    assert auto.find(b"a" * 1000) == _find_py(every, b"a" * 1000)
    assert auto.find(bytearray(b"\x00")) == _find_py(every, b"\x00")  # any buffer
    assert _c.Automaton([]).find(b"abc") == []
    for bad in ([b""], [b"a", ""], ["x"], [1], (b"a",), None):
        with pytest.raises((TypeError, ValueError)):
            _c.Automaton(bad)
    with pytest.raises(TypeError):
        _c.Automaton([b"a"]).find("text")
    with pytest.raises(TypeError):
        _c.Automaton(patterns=[b"a"])
    # a dense table of at most max_cells (states x byte classes): deeper states are an NFA (trie edges, failure links)
    hybrids = 0
    for _ in range(1500):
        alpha = rnd.choice(alphabets)
        pats = list(dict.fromkeys(bytes(rnd.choice(alpha) for _ in range(rnd.randint(1, 12)))
                                  for _ in range(rnd.randint(1, 80))))
        for cells in (20, 60, 300, 3000):
            try:
                auto = _c.Automaton(pats, cells)
            except ValueError:  # too few dense rows to hold its states' indices
                continue
            _, states, _, dense = auto.sizes()
            hybrids += dense < states
            for _ in range(3):
                t = bytes(rnd.choice(alpha) for _ in range(rnd.randint(0, 300))) + rnd.choice(pats) * 2
                assert auto.find(t) == _find_py(pats, t), (pats, t, cells)
    assert hybrids > 1000
    big = [b"%d-%d" % (i, i * 7) for i in range(2000)]
    with pytest.raises(ValueError):  # too small a dense table for its states: the caller keeps the Python path
        _c.Automaton(big, 10)
    assert _c.Automaton(big, 10**9).find(b"5-35,") == _find_py(big, b"5-35,")
    assert _c.Automaton(big, 30_000).sizes()[3] < _c.Automaton(big, 30_000).sizes()[1]
    assert _c.Automaton(big, 30_000).find(b"5-35,1999-13993") == _find_py(big, b"5-35,1999-13993")


#: literals as the engine writes them (folded, JSON-escaped, whole values quoted), aimed at the hostile events:
#: escapes, quotes and separators of the JSON list, case folds, numbers
_FLITS = ['"c:\\\\x.exe"', "image", "\\\\", '\\"', "\\u0000", "\\n", ",", '","', "[", "]", "i\u0307", "ss", "k",
          "s", "true", "null", "1", "-", "source name", "\U0001f600", "σ"]
_TLITS = ["original", "raw", "\\\\", "ss", "i\u0307", "k", '"]', '["', "a", "ſ".casefold(), "x\\\\", "\\u001f"]


#: keyword literals with no '"' and 2+ bytes long (as the engine's are): scan searches ASCII values straight from
#: their str and skips values too short to hold one and str objects already searched. The shortest is 5 bytes;
#: "c:\\\\w" is 5 bytes written but 4 characters long ("C:\\W"), "\\u001fz" 7 bytes from 2 characters.
_SEP_TLITS = ["c:\\\\w", "kiwi!", "\\u001fz", "\\tab\\t", "strasse", "i\u0307xy", "kkkkk", "x\\\\\\\\y",
              "mimikatz", "\\\\mimilib.dll", "\\r\\n\\b\\f"]


def _synthetic_bucket(tlits: list[str] = _TLITS, flits: list[str] = _FLITS) -> Any:
    """A bucket whose literal i triggers rule i alone: the candidates are exactly the literals found."""
    from detectors.sigma.engine import _Bucket

    b = _Bucket(rules=list(range(len(flits) + len(tlits))))
    b.tree, b.extract, b.node = _TREE, value_extractor(_TREE), haystack.extractor_node(_TREE)
    b.flits, b.tlits, b.n_fields = list(flits), list(tlits), len(flits)
    b.triggers = [(frozenset({i}), ()) for i in range(len(b.rules))]
    b.live = b"\1" * len(b.rules)
    b.fac = _c.Automaton([x.encode() for x in flits])
    b.kac = _c.Automaton([x.encode() for x in tlits])
    b.native = True
    return b


_BUCKET = _synthetic_bucket() if _c is not None else None
_SEP_BUCKET = _synthetic_bucket(_SEP_TLITS) if _c is not None else None

#: field literals as the engine writes them (anchored: '"value"', '"prefix', 'suffix"'), with quotes, escapes,
#: separators and brackets that only occur across two values or at their edges: scan searches ASCII str values
#: in place (the text's state carried over the separators and quotes it feeds), the others through the buffer
_EDGE_FLITS = ['"c:\\\\x.exe"', '"c:\\\\', '.exe"', '"1102"', '"11', '02"', '","', '\\",', '\\\\"', '"]', '["',
               '[1,', ',2]', 'true,', 'null]', '"\\"q', 'q\\""', '"straße"'.replace("ß", "ss"), '""', '"",""', "\\t",
               "\\u001f", "xy", '"xy"', 'xy"', '"xy', "i\u0307", 'k"', 'ss"', "\\\\\\\\"]
_EDGE_BUCKET = _synthetic_bucket(_SEP_TLITS, _EDGE_FLITS) if _c is not None else None


@needs_c
@settings(max_examples=800, deadline=None)
@given(_docs)
def test_scan_on_generated_hostile_events(doc: dict[Any, Any]) -> None:
    _scan_agrees(_BUCKET, doc)


@needs_c
def test_scan_on_known_hostile_events() -> None:
    b = _BUCKET
    deep: Any = "X"
    for _ in range(400):
        deep = [deep]
    docs: list[Any] = [
        {"winlog": {"event_data": {"Image": "C:\\X.EXE", "Source Name": "İſK", "CommandLine": 'a"b\x00\n'}}},
        {"list": ["İ" * 50, "ſ" * 50, "\u212a", "ß", "Σ", "😀", "\ud800"]}, {"list": [1.5]}, {"n": 2**64},
        {"event": {"original": "raw", "kind": "x"}, "list": "ORIGINAL"}, {1: "x"}, {"list": deep},
        {"list": [True, None, -1, 2**63 - 1, ""]}, {"url": {"original": "A" * 100_000 + '"]'}}, {},
        {"process": {"name": _Str("sub")}}, {"list": "\x1f" * 33},
    ]
    checked = sum(_scan_agrees(b, d) for d in docs)
    assert checked >= 6
    assert _c.scan(["not", "a dict"], b.node, b.fac, b.kac, b.live, b.triggers, b.always) is None
    # a literal at every position of strings around the 4-byte steps of the scan
    for n in range(0, 24):
        for pos in range(0, n + 1):
            text = ("Yz" * 20)[:pos] + "Image\\" + ("w" * 20)[:n - pos]
            assert _scan_agrees(b, {"list": [text], "x": text})


@needs_c
@settings(max_examples=400, deadline=None)
@given(_docs)
def test_scan_separable_keywords_on_generated_events(doc: dict[Any, Any]) -> None:
    _scan_agrees(_SEP_BUCKET, doc)


def _kw(lit: str) -> int:
    return len(_FLITS) + _SEP_TLITS.index(lit)


@needs_c
def test_scan_separable_keywords() -> None:
    """Values searched from their str, skipped when too short or already searched: the pure path's candidates."""
    b = _SEP_BUCKET
    assert b is not None and _c is not None
    long = "prefix " + "KiWi! C:\\Windows mimiKATZ" + " suffix" * 3
    cases: list[tuple[Any, list[str]]] = [
        ({"a": "C:\\W"}, ["c:\\\\w"]),  # 4 characters, 5 bytes written: exactly the shortest literal
        ({"a": "C:\\"}, []),
        ({"a": "KIWI!"}, ["kiwi!"]), ({"a": "KIWI"}, []), ({"a": ["x", ["kiwi!"]]}, ["kiwi!"]),
        ({"a": "\x1fZ"}, ["\\u001fz"]), ({"a": "\tab\t"}, ["\\tab\\t"]), ({"a": "\r\n\b\f"}, ["\\r\\n\\b\\f"]),
        ({"a": "STRAßE"}, ["strasse"]), ({"a": "İXY"}, ["i\u0307xy"]), ({"a": "\u212a" * 5}, ["kkkkk"]),
        ({"a": "\u212aKkKK"}, ["kkkkk"]), ({"a": "x\\\\y"}, ["x\\\\\\\\y"]),
        ({"a": "\\\\MimiLib.DLL"}, ["\\\\mimilib.dll"]),
        # no literal across two values, the list's separators or quotes
        ({"a": ["kiw", "i!"], "b": "c:", "c": "\\w", "d": "C:\"W"}, []),
        # the same str object in several places (searched once), a different object with the same text
        ({"a": long, "b": {"c": long, "d": [long]}, "e": "x" + long[1:]}, ["kiwi!", "c:\\\\w", "mimikatz"]),
        # nested dicts and event.original (not searched)
        ({"event": {"original": "mimikatz", "kind": {"x": ["KIWI!"]}}, "m": [{"n": "İxy"}]},
         ["kiwi!", "i\u0307xy"]),
    ]
    for doc, lits in cases:
        assert _scan_agrees(b, doc), doc
        got = _c.scan(doc, b.node, b.fac, b.kac, b.live, b.triggers, b.always)
        assert got == sorted(_kw(x) for x in lits), (doc, got)
    # many long values (more than the set of searched objects holds), the duplicates after them
    many = [f"value number {i} of many" for i in range(300)] + ["MIMIKATZ here"]
    assert _c.scan({"a": many, "b": many[::-1]}, b.node, b.fac, b.kac, b.live, b.triggers, b.always) == [
        _kw("mimikatz")]
    # declined after a duplicate was skipped: still declined
    assert _c.scan({"a": long, "b": long, "c": _Str("x")}, b.node, b.fac, b.kac, b.live, b.triggers, b.always) is None
    # a literal at every position of strings around the 8-byte steps, next to escapes and capitals
    for n in range(0, 20):
        for pos in range(0, n + 1):
            for lit in ("c:\\W", "X\\\\Y", "KIWI!", "\x1fz"):
                text = ('Q"\\z' * 8)[:pos] + lit + ("\\w" * 20)[:n - pos]
                assert _scan_agrees(b, {"list": [text], "x": text}), text


def _fields(image: Any = None, cmd: Any = None, channel: Any = None, name: Any = None, n: Any = None,
            lst: Any = None) -> dict[str, Any]:
    """An event with the given values at paths of _TREE (None: absent), in the field text's order."""
    doc: dict[str, Any] = {}
    ed = {k: v for k, v in (("Image", image), ("CommandLine", cmd)) if v is not None}
    if ed or channel is not None:
        doc["winlog"] = {"event_data": ed, **({"channel": channel} if channel is not None else {})}
    if name is not None:
        doc["process"] = {"name": name}
    if n is not None:
        doc["n"] = n
    if lst is not None:
        doc["list"] = lst
    return doc


def _field_lits(doc: dict[str, Any]) -> list[str]:
    b = _EDGE_BUCKET
    assert b is not None and _c is not None
    got = _c.scan(doc, b.node, b.fac, b.kac, b.live, b.triggers, b.always)
    assert got is not None and _scan_agrees(b, doc), doc
    return sorted(_EDGE_FLITS[i] for i in got if i < len(_EDGE_FLITS) and _EDGE_FLITS[i] not in ('["', '"]'))


@needs_c
def test_scan_fields_in_place() -> None:
    """Field values searched where they are (ASCII str) or written (the rest): exactly the whole text's literals."""
    assert _field_lits(_fields(image="C:\\X.EXE")) == sorted(['"c:\\\\x.exe"', '"c:\\\\', '.exe"'])
    assert _field_lits(_fields(image="C:\\X.EXE.txt")) == ['"c:\\\\']
    assert _field_lits(_fields(image="1102")) == sorted(['"1102"', '"11', '02"'])
    # across two values: the separator and the quotes between them are fed as the text has them
    assert _field_lits(_fields(image="", cmd="")) == sorted(['""', '","', '"",""'])
    assert _field_lits(_fields(image="a\\", cmd="b")) == sorted(['\\",', '\\\\"', '","'])
    assert _field_lits(_fields(image='"Q', cmd='Q"')) == sorted(['"\\"q', 'q\\""', '","', '""'])
    assert _field_lits(_fields(image="xy", cmd="XY")) == sorted(['"xy"', 'xy"', '"xy', "xy", '","'])
    assert _field_lits(_fields(image="x", cmd="y")) == ['","']  # "x","y": no xy across the quotes
    # brackets of the list: before the first value, after the last; a list value written (buffer path)
    b = _EDGE_BUCKET
    assert b is not None and _c is not None
    both = [_EDGE_FLITS.index('["'), _EDGE_FLITS.index('"]')]
    assert _c.scan(_fields(image="q"), b.node, b.fac, b.kac, b.live, b.triggers, b.always) == sorted(both)
    assert _c.scan(_fields(n=5), b.node, b.fac, b.kac, b.live, b.triggers, b.always) == []
    assert _field_lits(_fields(lst=[1, 2])) == sorted(["[1,", ",2]"])
    assert _field_lits(_fields(image="a", lst=[True, None])) == sorted(["true,", "null]"])
    assert _field_lits(_fields(n=1102)) == []  # a number has no quotes
    # non-ASCII values: written and case-folded on their own, between ASCII values searched in place
    assert _field_lits(_fields(image="STRAßE")) == ['"strasse"']
    assert _field_lits(_fields(image="x", cmd="STRAßE", channel="\tİ")) == sorted(['"strasse"', "\\t", "i\u0307", '","'])
    assert _field_lits(_fields(image="\u212a", cmd="ß")) == sorted(['k"', 'ss"', '","'])
    assert _field_lits(_fields(image="\x1f")) == ["\\u001f"]
    assert _field_lits(_fields(image="\\\\")) == sorted(["\\\\\\\\", '\\\\"'])
    # the literals at every position of values around the 8-byte steps, next to escapes, capitals, other values
    for n in range(0, 20):
        for pos in range(0, n + 1):
            for lit in ("C:\\X.EXE", '"Q', "XY", "\\", "\x1f", "1102", "ß"):
                text = ('Q"\\z' * 8)[:pos] + lit + ("\\w" * 20)[:n - pos]
                for doc in (_fields(image=text), _fields(image=text, cmd=text[::-1], name=lit),
                            _fields(image=lit, cmd=text, channel=text[pos:]), _fields(cmd=text, lst=[text, n])):
                    assert _scan_agrees(_EDGE_BUCKET, doc), doc


@needs_c
@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(_text, st.sampled_from(["", "xy", '"', "\\", "1102", "C:\\X.EXE", "a\\", ","])),
                min_size=5, max_size=5),
       st.one_of(st.none(), st.integers(), st.booleans(), _text, st.lists(_text, max_size=3)))
def test_scan_fields_in_place_generated(values: list[str], other: Any) -> None:
    image, cmd, channel, name, n = values
    doc = _fields(image, cmd, channel, name, n, other)
    _scan_agrees(_EDGE_BUCKET, doc)
    _scan_agrees(_BUCKET, doc)


@needs_c
def test_scan_checks_its_input() -> None:
    b = _BUCKET
    doc = {"list": ["image"]}
    args = [doc, b.node, b.fac, b.kac, b.live, b.triggers, b.always]
    want = _pure_candidates(b, doc)
    assert want is not None and _FLITS.index("image") in want and _c.scan(*args) == want
    for i, bad in ((2, "automaton"), (3, 5), (4, "live"), (5, tuple(b.triggers)), (6, (1,))):
        with pytest.raises(TypeError):
            _c.scan(*args[:i], bad, *args[i + 1:])
    with pytest.raises(ValueError):
        _c.scan(doc, b.node, b.fac, b.kac, b.live[:-1], b.triggers, b.always)  # one live byte per literal
    with pytest.raises(ValueError):
        _c.scan(doc, b.node, b.fac, None, b.live, b.triggers, b.always)  # literal count must add up
    with pytest.raises(TypeError):
        _c.scan(doc, b.node, b.fac)
    with pytest.raises(TypeError):
        _c.scan(doc, (), b.fac, b.kac, b.live, b.triggers, b.always)  # bad node
    bad_trig = [None] * len(b.triggers)
    with pytest.raises(TypeError):
        _c.scan(doc, b.node, b.fac, b.kac, b.live, bad_trig, b.always)
    assert _c.scan(*args) == want  # still consistent after the errors


@needs_c
def test_scan_references_held() -> None:
    b = _BUCKET
    s = "unique-image-" + "x" * 20
    idx = 10**6 + 3
    trig = list(b.triggers)
    doc = {"list": [s], "winlog": {"channel": s}, "other": [s, {"k": s}]}
    trig = [(frozenset(), ())] * len(trig)
    trig[_FLITS.index("image")] = (frozenset({idx}), ())
    before = sys.getrefcount(s), sys.getrefcount(idx), sys.getrefcount(b.fac)
    for _ in range(1000):
        assert _c.scan(doc, b.node, b.fac, b.kac, b.live, trig, [idx]) == [idx]
        assert _c.scan({"list": [s, 1.5]}, b.node, b.fac, b.kac, b.live, trig, []) is None  # declined half-way
        assert _c.scan({"k": "İ" + s}, b.node, b.fac, b.kac, b.live, trig, []) == []
        b.fac.find(s.encode())
    assert (sys.getrefcount(s), sys.getrefcount(idx), sys.getrefcount(b.fac)) == before
