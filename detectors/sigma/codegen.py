"""One generated Python function per rule, instead of a tree of nested closures.

The closure compiler (``compiler.Compiler``) records how it combined its matchers (``Compiler.ir``): AND/OR
in order, NOT, and a field item (read the field, reject missing/null, test the value or any list element).
:func:`generate` writes that structure as the source of one function whose boolean expression short-circuits
exactly as the closures do, so a candidate rule costs one Python call instead of one per combinator and item.

Security: no rule content ever appears in the source. Field values, names, regexes and every matcher are
closure variables ``c0, c1, ...`` given to a generated factory; locals are ``x0, x1, ...``. The source is built
from fixed fragments and integers only, and :func:`_check_source` refuses (falls back to the closures) any text
holding another identifier or character before it is compiled. Identical structures share one code object.
The closures stay the reference (``CompiledRule.reference``); ``tests/sigma/test_codegen.py`` compares both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .compiler import MISSING, Event, Matcher

#: deepest nesting written into one expression (CPython's parser allows 200 parentheses); deeper parts are
#: called as their closures
MAX_DEPTH = 40
#: most matchers one generated function refers to; a larger rule keeps its closures
MAX_CONSTS = 2000
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_ALLOWED_NAMES = frozenset({"def", "return", "and", "or", "not", "is", "if", "else", "None", "ev", "MISSING",
                            "isinstance", "list", "_anyl", "_mk", "_r"})
_NAME = re.compile(r"[cx][0-9]+\Z")
_CHARS = re.compile(r"[A-Za-z0-9_ ():=,\n]*\Z")
_FACTORIES: dict[str, Callable[..., Matcher]] = {}


def _anyl(vm: Callable[[Any, Event], bool], xs: list[Any], ev: Event) -> bool:
    for e in xs:  # noqa: SIM110 - no generator per call
        if vm(e, ev):
            return True
    return False


def _check_source(src: str) -> bool:
    """Defence in depth: the text holds only our fragments (fixed words, ``c<n>``/``x<n>``, punctuation)."""
    if not _CHARS.match(src):
        return False
    return all(t in _ALLOWED_NAMES or _NAME.match(t) for t in _TOKEN.findall(src))


class _Writer:
    def __init__(self, ir: dict[int, tuple[str, Matcher, Any]]) -> None:
        self.ir = ir
        self.consts: list[Any] = []
        self.index: dict[int, int] = {}
        self.locals = 0

    def const(self, obj: Any) -> str:
        i = self.index.get(id(obj))
        if i is None:
            i = self.index[id(obj)] = len(self.consts)
            self.consts.append(obj)
        return f"c{i}"

    def expr(self, fn: Matcher, depth: int = 0) -> str:
        node = self.ir.get(id(fn))
        if node is None or node[1] is not fn or depth >= MAX_DEPTH:
            return f"{self.const(fn)}(ev)"
        kind, _, parts = node
        if kind == "and" or kind == "or":
            return "(" + f" {kind} ".join(self.expr(f, depth + 1) for f in parts) + ")"
        if kind == "not":
            return f"(not {self.expr(parts, depth + 1)})"
        if kind == "field":
            get, vm = parts
            x = f"x{self.locals}"
            self.locals += 1
            g, v = self.const(get), self.const(vm)
            return (f"(({x} := {g}(ev)) is not MISSING and {x} is not None and "
                    f"(_anyl({v}, {x}, ev) if isinstance({x}, list) else {v}({x}, ev)))")
        return f"{self.const(fn)}(ev)"


def generate(root: Matcher, ir: dict[int, tuple[str, Matcher, Any]]) -> Matcher | None:
    """The rule's condition ``root`` as one generated function, or None (keep the closures) if it cannot be."""
    w = _Writer(ir)
    body = w.expr(root)
    if len(w.consts) > MAX_CONSTS:
        return None
    params = ", ".join(f"c{i}" for i in range(len(w.consts)))
    src = f"def _mk(MISSING, _anyl, isinstance, list, {params}):\n def _r(ev):\n  return {body}\n return _r\n"
    factory = _FACTORIES.get(src)
    if factory is None:
        if not _check_source(src):
            return None
        ns: dict[str, Any] = {"__builtins__": {}}
        try:
            exec(compile(src, "<sigma-generated>", "exec"), ns)  # noqa: S102 - our own fragments only, checked above
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            return None
        factory = ns["_mk"]
        if len(_FACTORIES) < 8192:
            _FACTORIES[src] = factory
    fn: Matcher = factory(MISSING, _anyl, isinstance, list, *w.consts)
    return fn


def deferred(holder: Any, root: Matcher, ir: dict[int, tuple[str, Matcher, Any]]) -> Matcher:
    """A stand-in for ``holder.match`` that generates the function on the rule's first evaluation.

    Most loaded rules are never a candidate for the events a deployment sees: generating all of them at load
    cost ~0.9 s CPU of 7.6 s (3,267 SigmaHQ rules, 852 distinct structures) and ~9 MiB.
    """

    def first(ev: Event) -> bool:
        fn = generate(root, ir) or root
        holder.match = fn
        return fn(ev)

    return first

