"""The native rule-evaluation calls (``detectors/sigma/_sigeval.c``) against their Python twins.

``_sigeval.Accessor(aid, _split_paths(paths))`` must return exactly what ``_memo(aid, _lookup(paths))`` returns
(the same object), including the per-event memo (same event => the remembered value even after a mutation;
``invalidate_view()`` or another event => looked up again), on generated events: dotted literal keys, nesting,
dict subclasses, lists, None, keys with spaces (``~`` paths), unicode. ``_sigeval.StrMatcher`` (what
``Compiler.string_values`` returns when the module is built) must give exactly its Python twin's result
(``.fallback``) for generated values and pattern lists (every branch: eq, prefixes, suffixes, substrings short
and long lists, wildcards with and without the literal pre-check, cased strings, ``*``). References are
released (refcounts back to their start, RSS flat over a million calls).
"""

from __future__ import annotations

import gc
import random
import sys
import threading
from typing import Any

import pytest
from sigma.types import SigmaCasedString, SigmaString

from detectors.sigma import compiler
from detectors.sigma.compiler import (
    MISSING,
    Compiler,
    _lookup,
    _memo,
    _split_paths,
    invalidate_view,
    make_accessor,
)
from tests.extensions import require_built

_c = compiler._sigeval
needs_c = pytest.mark.skipif(_c is None, reason="detectors.sigma._sigeval is not built")


def test_extension_built() -> None:
    require_built(_c, "detectors/sigma/_sigeval.c")


class Sub(dict):  # type: ignore[type-arg]
    """A dict subclass whose reads go through Python methods (and are counted)."""

    calls = 0

    def get(self, k: Any, d: Any = None) -> Any:
        Sub.calls += 1
        return super().get(k, d)

    def __contains__(self, k: object) -> bool:
        Sub.calls += 1
        return super().__contains__(k)


class Missing(dict):  # type: ignore[type-arg]
    """``__missing__`` is used by ``[]`` only (never by ``in``/``get``)."""

    def __missing__(self, k: Any) -> Any:
        return "from-missing"


KEYS = ["a", "b", "c", "a.b", "b.c", "a.b.c", "Source Name", "SourceName", "event_data", "winlog", "é", "x y"]


def _value(rng: random.Random, depth: int) -> Any:
    r = rng.random()
    if depth < 3 and r < 0.35:
        return _dict(rng, depth + 1)
    if r < 0.45:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return rng.choice([None, "", "x", "Ünïcödé", "CMD.EXE", 0, 1, 2.5, True, False, "a b"])


def _dict(rng: random.Random, depth: int) -> dict[str, Any]:
    cls = rng.choice([dict, dict, dict, Sub, Missing])
    d = cls()
    for _ in range(rng.randrange(5)):
        d[rng.choice(KEYS)] = _value(rng, depth)
    return d


def _event(rng: random.Random) -> Any:
    ev = _dict(rng, 0)
    if rng.random() < 0.5:
        w = ev.setdefault("winlog", {})
        if isinstance(w, dict):
            ed = w.setdefault("event_data", {})
            if isinstance(ed, dict):
                ed[rng.choice(["Source Name", "Source  Name", "SourceName", " Source Name"])] = rng.choice(["s", 1, None])
    return ev


PATHS = [["a"], ["a.b"], ["a.b.c"], ["b.c", "a"], ["x y"], ["winlog.event_data.SourceName"],
         ["winlog.event_data.SourceName", "winlog.user_data.SourceName", "SourceName", "~winlog.event_data.SourceName"],
         ["~winlog.event_data.SourceName"], ["a.b", "a.b.c", "c"], ["é.a"], ["nothere", "c.c.c"], []]


@needs_c
def test_accessor_returns_what_the_python_getter_returns() -> None:
    rng = random.Random(7)
    pairs = [(_c.Accessor(100_000 + i, _split_paths(p)), _lookup(p)) for i, p in enumerate(PATHS)]
    for _ in range(3000):
        ev = _event(rng)
        invalidate_view()
        for nat, py in pairs:
            want = py(ev)
            invalidate_view()  # the native memo must not hide what the lookup gives
            got = nat(ev)
            assert got is want, (ev, want, got)
            assert nat(ev) is want  # memoised


@needs_c
def test_accessor_errors_as_python() -> None:
    nat = _c.Accessor(100_100, _split_paths(["a.b"]))
    py: Any = _lookup(["a.b"])
    for bad in (None, 5):
        with pytest.raises(TypeError):
            py(bad)
        invalidate_view()
        with pytest.raises(TypeError):
            nat(bad)
    # a list is a container (``in`` works) but not a dict: absent, or indexed by the path as Python does
    assert nat(["x"]) is py(["x"]) is MISSING
    with pytest.raises(TypeError):
        py(["a.b"])
    invalidate_view()
    with pytest.raises(TypeError):
        nat(["a.b"])
    with pytest.raises(TypeError):
        nat()


@needs_c
def test_memo_as_python() -> None:
    """Same event object: the remembered value (even after a mutation); invalidate_view or another event: re-read."""
    paths = ["a.b", "c"]
    nat = _c.Accessor(100_200, _split_paths(paths))
    py = _memo(100_200, _lookup(paths))
    ev: dict[str, Any] = {"a": {"b": "one"}}
    other: dict[str, Any] = {"c": "other"}
    for get in (nat, py):
        invalidate_view()
        ev["a"] = {"b": "one"}
        assert get(ev) == "one"
        ev["a"]["b"] = "two"
        assert get(ev) == "one"  # remembered for this event
        assert get(other) == "other"
        assert get(ev) == "two"  # another event in between: forgotten
        ev["a"]["b"] = "three"
        assert get(ev) == "two"
        invalidate_view()
        assert get(ev) == "three"
        del ev["a"]
        invalidate_view()
        assert get(ev) is MISSING
    # a memo holds its event: a new dict cannot take the identity of an evaluated one
    ev2: dict[str, Any] = {"c": 1}
    assert nat(ev2) == 1
    assert _c.memo_size() == 1
    del ev2
    assert nat({"c": 2}) == 2
    invalidate_view()
    assert _c.memo_size() == -1


@needs_c
def test_make_accessor_is_native_and_shared() -> None:
    a = make_accessor(["q.r", "~winlog.event_data.Q"])
    assert isinstance(a, _c.Accessor)
    assert make_accessor(["q.r", "~winlog.event_data.Q"]) is a
    invalidate_view()
    assert a({"winlog": {"event_data": {"Q ": 3}}}) == 3
    assert a({"q.r": 4, "q": {"r": 5}}) == 4  # the literal dotted key first


@needs_c
def test_threads_never_read_another_threads_values() -> None:
    acc = _c.Accessor(100_300, _split_paths(["v"]))
    errors: list[str] = []

    def run(tag: int) -> None:
        evs = [{"v": (tag, i)} for i in range(50)]
        for _ in range(200):
            for ev in evs:
                if acc(ev) != ev["v"]:
                    errors.append(f"{tag}: {acc(ev)} != {ev['v']}")
                    return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        ts = [threading.Thread(target=run, args=(t,)) for t in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:3]


@needs_c
def test_accessor_releases_references() -> None:
    val = "a value of its own " + str(random.random())
    acc = _c.Accessor(100_400, _split_paths(["x.y"]))
    base_val = sys.getrefcount(val)
    ev = {"x": {"y": val}}
    base_ev = sys.getrefcount(ev)
    for _ in range(1000):
        invalidate_view()
        assert acc(ev) is val
        assert acc(ev) is val
    invalidate_view()
    assert sys.getrefcount(ev) == base_ev
    del ev
    gc.collect()
    assert sys.getrefcount(val) == base_val  # as before the event held it


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@needs_c
def test_a_million_calls_keep_rss_flat() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/statm")
    acc = _c.Accessor(100_500, _split_paths(["a.b", "~winlog.event_data.SourceName"]))
    vm, _ = Compiler(None).string_values([SigmaString("*pow*"), SigmaString("cmd*"), SigmaString("*.EXE"),
                                          SigmaString("a*b?c"), SigmaString("exact")])
    assert isinstance(vm, _c.StrMatcher)

    def burst(n: int) -> None:
        for i in range(n):
            ev = {"a": {"b": f"C:\\x{i % 997}\\PowerShell.EXE"}, "winlog": {"event_data": {"Source Name": i}}}
            v = acc(ev)
            vm(v, ev)
            vm(i, ev)
            acc(ev)
            if i % 1000 == 0:
                invalidate_view()

    burst(50_000)
    gc.collect()
    before = _rss()
    burst(250_000)  # 1M native calls
    invalidate_view()
    gc.collect()
    grown = _rss() - before
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1M calls"


# -- the string matcher

WORDS = ["cmd", "CMD.exe", "power", "shell", "İ", "ß", "ẞ", "σ", "Σ", "é", "\\", "/c", " ", "x", "", "ab", "K"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.randrange(6)))


def _pattern(rng: random.Random) -> str:
    core = _text(rng).replace("*", "").replace("?", "")
    kind = rng.randrange(6)
    if kind == 0:
        return core
    if kind == 1:
        return core + "*"
    if kind == 2:
        return "*" + core
    if kind == 3:
        return "*" + core + "*"
    if kind == 4:
        return "*" + _text(rng) + "?" + _text(rng) + "*"
    return _text(rng) + "*" + _text(rng)


VALUES: list[Any] = ["", "x", "CMD.EXE /c whoami", "powershell", "İstanbul", "STRASSE", "straße", "ΟΔΟΣ", "οδος",
                     "a\x00b", "Ab", "\ud800", "é" * 300, 5, 5.0, -0.0, float("nan"), True, None, ["cmd"], {"a": 1},
                     b"cmd", 10**30]


def _outcome(vm: Any, v: Any) -> tuple[str, Any]:
    try:
        return "ok", vm(v, {})
    except Exception as exc:  # a lone surrogate cannot be encoded for RE2: both must fail alike
        return "error", type(exc)


@needs_c
def test_str_matcher_agrees_with_its_python_twin() -> None:
    rng = random.Random(11)
    comp = Compiler(None)
    for trial in range(400):
        n = rng.choice([1, 2, 3, 8, 12])
        pats = [_pattern(rng) for _ in range(n)]
        strs: list[SigmaString] = []
        for p in pats:
            r = rng.random()
            strs.append(SigmaCasedString(p) if r < 0.1 else SigmaString("*") if r < 0.12 else SigmaString(p))
        vm: Any = comp.string_values(strs)[0]
        assert isinstance(vm, _c.StrMatcher)
        py = vm.fallback
        values = [*VALUES, *(_text(rng) for _ in range(30)), *(p.replace("*", "zz").replace("?", "Q") for p in pats)]
        for v in values:
            if trial % 3 == 0:
                invalidate_view()  # sometimes a cold lower-case cache
            want, got = _outcome(py, v), _outcome(vm, v)
            assert got[0] == want[0] and got[1] is want[1], (pats, v, want, got)


@needs_c
def test_long_contains_lists_agree_with_the_python_automaton() -> None:
    """More than 6 ``*x*`` patterns: the native automaton (UTF-8 bytes) against pyahocorasick and ``in``."""
    rng = random.Random(5)
    comp = Compiler(None)
    for trial in range(150):
        # (no backslash: Sigma reads it as an escape, and the ``in`` oracle below takes the words as written)
        words = sorted({_text(rng).replace("\\", "") for _ in range(rng.randrange(7, 40))} - {""}) or ["x"]
        while len(words) < 7:
            words.append(words[-1] + "k")
        vm: Any = comp.string_values([SigmaString(f"*{w}*") for w in words])[0]
        if trial % 2:  # else the table is built by the first str value the matcher reads (below)
            assert vm.native_ac
        lows = [w.lower() for w in words]
        for v in [*VALUES, *(_text(rng) + rng.choice(words) + _text(rng) for _ in range(20)),
                  *(_text(rng) for _ in range(40))]:
            want, got = _outcome(vm.fallback, v), _outcome(vm, v)
            assert got[0] == want[0] and got[1] is want[1], (words, v, want, got)
            if isinstance(v, str) and got[0] == "ok":
                assert got[1] is any(w in v.lower() for w in lows)
        assert vm.native_ac


@needs_c
def test_str_matcher_long_contains_list_and_cache() -> None:
    comp = Compiler(None)
    tools = [f"*tool{i}*" for i in range(10)]
    vm: Any = comp.string_values([SigmaString(t) for t in tools])[0]
    assert vm.fallback is not vm
    for v in ["C:\\TOOL7.exe", "tool", "xtool9", "TOOL10", "tööl1", 7]:
        assert vm(v, {}) is vm.fallback(v, {})
    invalidate_view()
    s = "MiXeD " + str(random.random())
    assert vm(s, {}) is False
    assert compiler._LOWER[s] == s.lower()  # the shared cache, filled as compiler.lower does
    low = "already lower " + str(random.random())
    vm(low, {})
    assert compiler._LOWER[low] == low
    # non-str values: the twin decides (numbers as their JSON text)
    vm2, _ = comp.string_values([SigmaString("4*"), SigmaString("true")])
    assert vm2(42, {}) is True and vm2(True, {}) is True and vm2(None, {}) is False and vm2(3.5, {}) is False


@needs_c
def test_str_matcher_rejects_bad_construction() -> None:
    with pytest.raises(TypeError):
        _c.StrMatcher()
    with pytest.raises(TypeError):
        _c.StrMatcher(len, False, (), set(), (1,), (), (), None, None, None, {}, str.lower)
    vm: Any = Compiler(None).string_values([SigmaString("a")])[0]
    with pytest.raises(TypeError):
        vm("a")
