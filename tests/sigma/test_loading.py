"""Rule loading: bad files are rejected alone with file, line and reason; the rest keeps running."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from detectors.sigma import SigmaEngine, load_rules
from soc.cli.main import app

GOOD = """
title: Good rule
id: 22222222-2222-4222-8222-222222222222
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|contains: 'whoami'
    condition: sel
level: medium
"""

PROC = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                   "event_data": {"CommandLine": "whoami /all"}}}


def rule_with(detection: str, rid: str = "33333333-3333-4333-8333-333333333333") -> str:
    return f"""
title: Bad rule
id: {rid}
logsource: {{product: windows, category: process_creation}}
detection:
{detection}
level: high
"""


def _reasons(eng: SigmaEngine) -> list[str]:
    return [r for _, _, r in eng.errors]


def test_yaml_bomb_is_rejected(write_rule):
    bomb = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    prev = "a"
    for name in "bcdefghi":
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    folder = write_rule(bomb, "bomb.yml").parent
    write_rule(GOOD, "good.yml")
    t0 = time.monotonic()
    eng = SigmaEngine.from_paths([folder])
    assert time.monotonic() - t0 < 30
    assert [r["title"] for r in eng.rules] == ["Good rule"]
    (f, line, reason), = eng.errors
    assert f.endswith("bomb.yml") and "YAML bomb" in reason
    assert eng.process(PROC)


def test_yaml_syntax_error_has_line(write_rule):
    p = write_rule("title: x\ndetection:\n  sel: [unclosed\n  condition: sel\n", "broken.yml")
    rs = load_rules([p])
    (err,) = rs.errors
    assert err.line is not None and err.line >= 3
    assert "invalid YAML" in err.reason


def test_unknown_modifier(write_rule):
    p = write_rule(rule_with("    sel:\n        CommandLine|frobnicate: 'x'\n    condition: sel"))
    (err,) = load_rules([p]).errors
    assert "frobnicate" in err.reason


def test_regex_re2_cannot_compile_is_rejected_with_reason(write_rule):
    p = write_rule(rule_with("    sel:\n        CommandLine|re: '(a)\\1'\n    condition: sel"))
    (err,) = load_rules([p]).errors
    assert "RE2" in err.reason and "\\1" in err.reason


def test_catastrophic_regex_runs_in_linear_time(write_rule):
    p = write_rule(rule_with("    sel:\n        CommandLine|re: '^(a+)+$'\n    condition: sel"))
    eng = SigmaEngine.from_paths([p])
    assert not eng.errors
    ev = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1",
                     "event_data": {"CommandLine": "a" * 50_000 + "b"}}}
    t0 = time.monotonic()
    assert eng.process(ev) == []
    assert time.monotonic() - t0 < 2  # a backtracking engine would take longer than the age of the universe


def test_condition_naming_missing_selection(write_rule):
    p = write_rule(rule_with("    sel:\n        CommandLine: x\n    condition: sel and missing_sel"))
    (err,) = load_rules([p]).errors
    assert "missing_sel" in err.reason


def test_correlation_referring_to_unknown_rule(write_rule):
    p = write_rule("""
title: Dangling correlation
id: 44444444-4444-4444-8444-444444444444
correlation:
    type: event_count
    rules: [no_such_rule]
    group-by: [User]
    timespan: 5m
    condition: {gte: 3}
""")
    write_rule(GOOD, "good.yml")
    eng = SigmaEngine.from_paths([p.parent])
    assert any("unknown rule" in r and "no_such_rule" in r for r in _reasons(eng))
    assert len(eng.rules) == 1 and eng.process(PROC)


def test_unsupported_logsource_is_named(write_rule):
    p = write_rule(GOOD.replace("product: windows, category: process_creation", "product: aws, service: cloudtrail"))
    (err,) = load_rules([p]).errors
    assert err.reason.startswith("unsupported logsource") and "aws" in err.reason


def test_duplicate_ids_keep_the_first(write_rule):
    write_rule(GOOD, "a.yml")
    p = write_rule(GOOD, "b.yml")
    rs = load_rules([p.parent])
    assert len(rs.rules) == 1
    assert "duplicate rule id" in rs.errors[0].reason


def test_rules_check_cli_reports_and_fails(write_rule):
    p = write_rule(rule_with("    sel:\n        CommandLine|re: '(?=x)'\n    condition: sel"), "bad.yml")
    write_rule(GOOD, "good.yml")
    res = CliRunner().invoke(app, ["rules", "check", str(p.parent)])
    assert res.exit_code == 1
    assert "bad.yml" in res.output and "RE2" in res.output
    ok = CliRunner().invoke(app, ["rules", "check", str(p.parent / "good.yml")])
    assert ok.exit_code == 0, ok.output


def test_reload_if_changed(write_rule):
    p = write_rule(GOOD, "good.yml")
    eng = SigmaEngine.from_paths([p.parent])
    assert not eng.reload_if_changed()
    new = p.parent / "second.yml"
    new.write_text(rule_with("    sel:\n        CommandLine|contains: 'net user'\n    condition: sel"))
    assert eng.reload_if_changed()
    assert len(eng.rules) == 2
    new.unlink()
    assert eng.reload_if_changed() and len(eng.rules) == 1
