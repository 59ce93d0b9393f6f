"""Generated per-rule match functions (``detectors/sigma/codegen.py``): safe against hostile rules, and equal
to the closure compiler they are generated from (the reference path) on real rules and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from detectors.sigma import SigmaEngine, codegen
from detectors.sigma.compiler import invalidate_view
from tests.sigma.conftest import shared_evtx_events
from tests.sigma.evtx_adapter import to_winlog

HOSTILE = [
    "a'b\"c",
    "line1\nline2",
    "back\\slash\\",
    "__import__('os').system('touch {marker}')",
    "}}{{ {0} %s",
    "sep\u2028arator\u2029end",
    "\")\n import os\n os.system('touch {marker}')\n#",
]


def _hostile_rule(marker: Path) -> str:
    vals = [v.replace("{marker}", str(marker)) for v in HOSTILE]
    q = [v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\u2028", "\\u2028")
         .replace("\u2029", "\\u2029") for v in vals]
    field = "x'); __import__('os').system('touch " + str(marker) + "') #"
    fq = field.replace("\\", "\\\\").replace('"', '\\"')
    return (
        'title: "Hostile \\" }} __import__(\'os\').system(\'touch ' + str(marker) + '\')\\n x"\n'
        "id: 0d1e2f3a-0000-4000-8000-000000000001\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n"
        "  sel:\n"
        '    CommandLine|contains: ["' + '", "'.join(q) + '"]\n'
        '  sel_field:\n    "' + fq + '": "' + q[3] + '"\n'
        '  filter:\n    Image|endswith: "' + q[6] + '"\n'
        "  condition: (sel or sel_field) and not filter\n"
    )


def _event(cmd: str, image: str = "c:\\windows\\system32\\cmd.exe", **extra: str) -> dict:
    return {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1,
                       "event_data": {"CommandLine": cmd, "Image": image, **extra}}}


def test_hostile_rule_loads_matches_and_cannot_escape(write_rule, tmp_path: Path):
    marker = tmp_path / "escaped"
    path = write_rule(_hostile_rule(marker))
    eng = SigmaEngine.from_paths([path.parent])
    assert eng.errors == []
    (rule,) = eng.compiled_rules
    vals = [v.replace("{marker}", str(marker)) for v in HOSTILE]
    for v in vals:
        hit = _event(f"run {v.upper() if v.isascii() else v} now")
        assert [a["rule"]["id"] for a in eng.process(hit)] == [rule.id], v
        # the filter (an endswith value full of code) removes the match
        assert eng.process(_event(f"run {v}", image=f"x{vals[6]}")) == []
    assert eng.process(_event("nothing to see")) == []
    assert rule.match.__code__.co_filename == "<sigma-generated>"  # generated on the first evaluation
    # a field name full of code is only a name: it is looked up, never run
    field = "x'); __import__('os').system('touch " + str(marker) + "') #"
    ev = _event("plain")
    ev[field] = vals[3]  # a top-level key written as the rule names it
    assert len(eng.process(ev)) == 1
    assert not marker.exists()
    # no rule content reached any generated source
    for src in codegen._FACTORIES:
        assert codegen._check_source(src)
        for v in [*vals, field, "Hostile", "CommandLine", "Image", "sel", "filter"]:
            assert v not in src


def test_source_check_refuses_foreign_text():
    ok = "def _mk(MISSING, _anyl, isinstance, list, c0):\n def _r(ev):\n  return (not c0(ev))\n return _r\n"
    assert codegen._check_source(ok)
    for bad in (ok.replace("c0(ev)", "__import__(ev)"), ok.replace("c0(ev)", "c0('x')"),
                ok.replace("c0(ev)", "c0(ev.x)"), ok + "\u2028", ok.replace("c0", "os")):
        assert not codegen._check_source(bad)


def test_deep_conditions_fall_back_or_generate_without_error(write_rule):
    depth = 120
    cond = "(" * depth + "a" + ")" * depth + " and " + " and ".join(["not (b or a)"] * 3)
    path = write_rule(
        "title: deep\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n  a:\n    CommandLine|contains: foo\n  b:\n    CommandLine|contains: bar\n"
        f"  condition: a or ({cond})\n")
    eng = SigmaEngine.from_paths([path.parent])
    (rule,) = eng.compiled_rules
    gen = codegen.generate(rule.reference, rule.compiler.ir)
    assert gen is not None
    for cmd, want in (("xfoo", True), ("foobar", True), ("none", False)):
        ev = _event(cmd)
        assert bool(gen(ev)) is want
        assert bool(rule.reference(ev)) is want


def _generated(engine: SigmaEngine) -> dict[int, Any]:
    return {r.idx: codegen.generate(r.reference, r.compiler.ir) for r in engine.compiled_rules}


def _differential(engine: SigmaEngine, events: list[dict]) -> int:
    """Every rule of each event's logsource, generated vs closures; returns the number of matches seen."""
    rules = engine.compiled_rules
    gen = _generated(engine)
    matched = 0
    for ev in events:
        for i in engine._all_for(ev):
            r = rules[i]
            fn = gen[i] or r.reference
            invalidate_view()
            got = bool(fn(ev))
            invalidate_view()
            want = bool(r.reference(ev))
            assert got is want, (r.id, r.title, ev)
            matched += got
    return matched


def test_generated_equals_closures_on_regression_samples(sigmahq_engine, regression_cases):
    rules = sigmahq_engine.compiled_rules
    generated = sum(fn is not None for fn in _generated(sigmahq_engine).values())
    assert generated > 0.95 * len(rules)
    events = [to_winlog(e) for _, _, raw in regression_cases for e in raw]
    assert _differential(sigmahq_engine, events) > len(events) // 2


@pytest.mark.slow
def test_generated_equals_closures_on_shared_evtx(sigmahq_engine):
    events = shared_evtx_events(1500)
    assert _differential(sigmahq_engine, events) > 0
