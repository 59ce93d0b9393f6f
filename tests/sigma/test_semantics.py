"""Sigma matching semantics, one behaviour per test, on plain dict events."""

from __future__ import annotations

import base64

import pytest

from detectors.sigma import SigmaEngine


def engine_for(write_rule, detection: str, *, logsource: str = "product: windows, category: process_creation",
               **kw) -> SigmaEngine:
    folder = write_rule(f"""
    title: t
    id: 11111111-1111-4111-8111-111111111111
    logsource: {{{logsource}}}
    detection:
{detection}
    level: high
    """)
    return SigmaEngine.from_paths([folder], **kw)


def proc(**data) -> dict:
    return {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1", "event_data": data}}


def hits(eng: SigmaEngine, ev: dict) -> bool:
    assert not eng.errors, eng.errors
    fast = bool(eng.process(ev))
    assert fast == bool(eng.matching_rules(ev, naive=True))
    return fast


DET = "        "


def test_default_equality_is_case_insensitive_and_whole_value(write_rule):
    eng = engine_for(write_rule, DET + "sel:\n" + DET + "    Image: 'C:\\Windows\\cmd.exe'\n" + DET + "condition: sel")
    assert hits(eng, proc(Image="c:\\windows\\CMD.EXE"))
    assert not hits(eng, proc(Image="c:\\windows\\cmd.exe.bak"))


def test_contains_startswith_endswith(write_rule):
    eng = engine_for(write_rule, f"""{DET}a:
{DET}    CommandLine|contains: 'whoami'
{DET}b:
{DET}    Image|startswith: 'C:\\Temp\\'
{DET}c:
{DET}    Image|endswith: '\\evil.exe'
{DET}condition: a and b and c""")
    assert hits(eng, proc(CommandLine="cmd /c WHOAMI /all", Image="c:\\temp\\x\\EVIL.exe"))
    assert not hits(eng, proc(CommandLine="cmd /c who", Image="c:\\temp\\x\\EVIL.exe"))
    assert not hits(eng, proc(CommandLine="whoami", Image="d:\\temp\\evil.exe"))


def test_wildcards_and_escapes(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine: 'a*b?c'
{DET}lit:
{DET}    Image: 'x\\*y'
{DET}condition: sel or lit""")
    assert hits(eng, proc(CommandLine="aXXXbZc"))
    assert not hits(eng, proc(CommandLine="aXXXbc"))
    assert hits(eng, proc(Image="x*y"))
    assert not hits(eng, proc(Image="xAy"))


def test_list_is_or_and_all_modifier_is_and(write_rule):
    eng = engine_for(write_rule, f"""{DET}any:
{DET}    CommandLine|contains: ['alpha', 'beta']
{DET}every:
{DET}    ParentCommandLine|contains|all: ['alpha', 'beta']
{DET}condition: any and every""")
    assert hits(eng, proc(CommandLine="beta", ParentCommandLine="beta and alpha"))
    assert not hits(eng, proc(CommandLine="beta", ParentCommandLine="beta only"))


def test_map_is_and_list_of_maps_is_or(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    - Image|endswith: '\\a.exe'
{DET}      User: bob
{DET}    - Image|endswith: '\\b.exe'
{DET}condition: sel""")
    assert hits(eng, proc(Image="c:\\a.exe", User="BOB"))
    assert not hits(eng, proc(Image="c:\\a.exe", User="alice"))
    assert hits(eng, proc(Image="c:\\b.exe"))


def test_regex_with_flags_uses_re2(write_rule):
    eng = engine_for(write_rule, f"""{DET}cs:
{DET}    CommandLine|re: 'Invoke-[A-Z]+'
{DET}ci:
{DET}    Image|re|i: '^c:\\\\windows\\\\.*\\.EXE$'
{DET}condition: cs and ci""")
    assert hits(eng, proc(CommandLine="x Invoke-MIMI", Image="C:\\Windows\\a.exe"))
    assert not hits(eng, proc(CommandLine="x invoke-mimi", Image="C:\\Windows\\a.exe"))


def test_regex_multiline_and_dotall(write_rule):
    eng = engine_for(write_rule, f"""{DET}m:
{DET}    CommandLine|re|m: '^second$'
{DET}s:
{DET}    ParentCommandLine|re|s: 'a.b'
{DET}condition: m and s""")
    assert hits(eng, proc(CommandLine="first\nsecond\nthird", ParentCommandLine="a\nb"))
    assert not hits(eng, proc(CommandLine="first second", ParentCommandLine="a\nb"))


def test_cidr(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    source.ip|cidr:
{DET}        - '10.0.0.0/8'
{DET}        - '2001:db8::/32'
{DET}condition: sel""", logsource="category: firewall")
    net = {"event": {"category": ["network"]}}
    assert hits(eng, {**net, "source": {"ip": "10.2.3.4"}})
    assert hits(eng, {**net, "source": {"ip": "2001:db8::1"}})
    assert not hits(eng, {**net, "source": {"ip": "11.2.3.4"}})
    assert not hits(eng, {**net, "source": {"ip": "not-an-ip"}})


def test_base64_base64offset_and_utf16(write_rule):
    eng = engine_for(write_rule, f"""{DET}b64:
{DET}    CommandLine|base64|contains: 'evil'
{DET}offs:
{DET}    ParentCommandLine|base64offset|contains: 'http://'
{DET}wide:
{DET}    Description|utf16le|base64offset|contains: 'Invoke'
{DET}condition: b64 or offs or wide""")
    assert hits(eng, proc(CommandLine="x " + base64.b64encode(b"evil").decode()))
    for prefix in (b"", b"a", b"ab"):
        enc = base64.b64encode(prefix + b"http://x.example/").decode()
        assert hits(eng, proc(ParentCommandLine="-enc " + enc)), prefix
    enc = base64.b64encode("zz Invoke-Expression".encode("utf-16-le")).decode()
    assert hits(eng, proc(Description=enc))
    assert not hits(eng, proc(CommandLine="evil"))


def test_windash(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine|windash|contains: ' -exec '
{DET}condition: sel""")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert hits(eng, proc(CommandLine=f"x {dash}exec bypass")), dash
    assert not hits(eng, proc(CommandLine="x +exec bypass"))


def test_exists_null_and_fieldref(write_rule):
    eng = engine_for(write_rule, f"""{DET}has:
{DET}    User|exists: true
{DET}nouser:
{DET}    ParentUser: null
{DET}same:
{DET}    TargetUser|fieldref: User
{DET}condition: has and nouser and same""")
    assert hits(eng, proc(User="Bob", TargetUser="bob"))
    assert not hits(eng, proc(User="Bob", TargetUser="alice"))
    assert not hits(eng, proc(User="Bob", TargetUser="bob", ParentUser="x"))
    assert not hits(eng, proc(TargetUser="bob"))


def test_numeric_comparisons(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    destination.port|gte: 1024
{DET}    source.bytes|lt: 100
{DET}condition: sel""", logsource="category: firewall")
    net = {"event": {"category": ["network"]}}
    assert hits(eng, {**net, "destination": {"port": 1024}, "source": {"bytes": "99"}})
    assert not hits(eng, {**net, "destination": {"port": 80}, "source": {"bytes": 1}})
    assert not hits(eng, {**net, "destination": {"port": "high"}, "source": {"bytes": 1}})


def test_cased(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine|cased|contains: 'MiMiKaTz'
{DET}condition: sel""")
    assert hits(eng, proc(CommandLine="run MiMiKaTz now"))
    assert not hits(eng, proc(CommandLine="run mimikatz now"))


def test_expand_placeholder_configured_and_missing(write_rule):
    det = f"""{DET}sel:
{DET}    User|expand: '%admins%'
{DET}condition: sel"""
    eng = engine_for(write_rule, det, placeholders={"admins": ["root", "adm_*"]})
    assert hits(eng, proc(User="adm_nguyen"))
    assert not hits(eng, proc(User="guest"))
    eng2 = engine_for(write_rule, det)
    assert not eng2.rules
    assert "placeholder %admins%" in eng2.errors[0][2]


def test_keywords_search_every_string_value(write_rule):
    eng = engine_for(write_rule, f"""{DET}keywords:
{DET}    - 'mimikatz'
{DET}    - 'sekurlsa::*'
{DET}condition: keywords""")
    assert hits(eng, proc(Anything="run MIMIKATZ"))
    assert hits(eng, {"winlog": {"channel": "Security", "event_id": 4688,
                                 "event_data": {"CommandLine": "sekurlsa::logonpasswords"}}})
    assert not hits(eng, proc(Anything="mimi katz"))


def test_condition_grammar(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel_a:
{DET}    CommandLine|contains: 'aaa'
{DET}sel_b:
{DET}    CommandLine|contains: 'bbb'
{DET}filter_x:
{DET}    User: system
{DET}condition: (1 of sel_* and not filter_x) or (all of sel_* and filter_x)""")
    assert hits(eng, proc(CommandLine="aaa", User="bob"))
    assert not hits(eng, proc(CommandLine="aaa", User="SYSTEM"))
    assert hits(eng, proc(CommandLine="aaa bbb", User="system"))
    eng2 = engine_for(write_rule, f"""{DET}a:
{DET}    CommandLine|contains: 'aaa'
{DET}b:
{DET}    User: bob
{DET}condition: all of them""")
    assert hits(eng2, proc(CommandLine="aaa", User="bob"))
    assert not hits(eng2, proc(CommandLine="aaa", User="eve"))


def test_list_valued_event_field_matches_any_element(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    event.category: authentication
{DET}condition: sel""", logsource="product: linux")
    assert hits(eng, {"event": {"module": "system", "category": ["session", "authentication"]}})
    assert not hits(eng, {"event": {"module": "system", "category": ["session"]}})


def test_neq_modifier(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    Image|endswith: '\\cmd.exe'
{DET}    User|neq: SYSTEM
{DET}condition: sel""")
    assert hits(eng, proc(Image="c:\\cmd.exe", User="bob"))
    assert not hits(eng, proc(Image="c:\\cmd.exe", User="system"))


def test_logsource_selects_events(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine|contains: 'whoami'
{DET}condition: sel""")
    assert hits(eng, proc(CommandLine="whoami"))
    # Security 4688 is process_creation too
    assert hits(eng, {"winlog": {"channel": "Security", "event_id": 4688, "event_data": {"CommandLine": "whoami"}}})
    # Sysmon event 3 (network connection) is not
    assert not hits(eng, {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "3",
                                     "event_data": {"CommandLine": "whoami"}}})
    ignoring = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine|contains: 'whoami'
{DET}condition: sel""", ignore_logsource=True, field_mapping=False)
    assert hits(ignoring, {"CommandLine": "whoami"})


def test_security_4688_field_names_are_mapped(write_rule):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    Image|endswith: '\\whoami.exe'
{DET}condition: sel""")
    assert hits(eng, {"winlog": {"channel": "Security", "event_id": "4688",
                                 "event_data": {"NewProcessName": "C:\\Windows\\System32\\whoami.exe"}}})


@pytest.mark.parametrize("field,value,event", [
    ("c-uri|contains", "/admin", {"event": {"module": "squid"}, "url": {"original": "http://x/admin"}}),
    ("cs-host", "evil.example", {"event": {"module": "squid"}, "url": {"domain": "evil.example"}}),
    ("c-useragent|contains", "curl", {"observer": {"type": "proxy"}, "user_agent": {"original": "curl/8"}}),
])
def test_proxy_taxonomy_fields_map_to_ecs(write_rule, field, value, event):
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    {field}: '{value}'
{DET}condition: sel""", logsource="category: proxy")
    assert hits(eng, event)
    assert not hits(eng, {"event": {"module": "nginx"}, "url": {"original": "http://x/admin", "domain": value}})


def test_long_contains_list(write_rule):
    names = [f"tool{i:03d}.exe" for i in range(40)]
    items = "\n".join(f"{DET}        - '{n}'" for n in names)
    eng = engine_for(write_rule, f"""{DET}sel:
{DET}    CommandLine|contains:
{items}
{DET}condition: sel""")
    assert hits(eng, proc(CommandLine="run C:\\x\\TOOL039.EXE -q"))
    assert hits(eng, proc(CommandLine="tool000.exe"))
    assert not hits(eng, proc(CommandLine="tool040.exe"))


def test_or_linked_items_on_one_field_merge(write_rule):
    """``- F|re: a`` / ``- F|re: b`` / ``- F: c`` is one OR over F's values (one RE2 pass), flags kept per pattern."""
    eng = engine_for(write_rule, DET + "sel:\n"
                     + DET + "    - CommandLine|re: 'ab+c'\n"
                     + DET + "    - CommandLine|re|i: 'X{2}Y'\n"
                     + DET + "    - CommandLine|endswith: '.ps1'\n"
                     + DET + "    - Image|re: '^z+$'\n"
                     + DET + "condition: sel")
    assert hits(eng, proc(CommandLine="--abbbc--"))
    assert not hits(eng, proc(CommandLine="--ABC--"))  # no i flag on the first pattern
    assert hits(eng, proc(CommandLine="--xxy--"))
    assert hits(eng, proc(CommandLine="run A.PS1"))
    assert hits(eng, proc(Image="zzz"))
    assert not hits(eng, proc(Image="zzz\nx", CommandLine="nothing"))
    # a negated or AND-linked item is not merged
    eng = engine_for(write_rule, DET + "sel:\n"
                     + DET + "    - CommandLine|contains|all: ['aa', 'bb']\n"
                     + DET + "    - CommandLine|re: 'cc'\n"
                     + DET + "condition: sel")
    assert not hits(eng, proc(CommandLine="aa only"))
    assert hits(eng, proc(CommandLine="bb aa"))
    assert hits(eng, proc(CommandLine="xccx"))


def test_bad_pattern_in_a_merged_list_is_named(write_rule):
    path = write_rule("""
    title: bad
    logsource: {product: windows, category: process_creation}
    detection:
        sel:
            - CommandLine|re: 'ok'
            - CommandLine|re: '(?<=x)y'
        condition: sel
    """)
    eng = SigmaEngine.from_paths([path.parent])
    assert not eng.compiled_rules
    (err,) = eng.errors
    assert "(?<=x)y" in err[2]


def test_wildcard_patterns_rejected_by_their_literal_agree_with_the_regex():
    """The literal pre-check of wildcard strings (``a*b?c``) never changes a result: compared with RE2 alone."""
    import re2
    from sigma.types import SigmaString

    from detectors.sigma.compiler import Compiler, _wild_regex

    pats = ["*cmd.exe /c * > *\\Temp\\* 2>&1*", "*>?%TEMP%\\*", "a*b?c", "?*?", "*İ?x*", "*ß?*"]
    values = ["CMD.EXE /C dir > C:\\temp\\o 2>&1", "echo >x%temp%\\a", ">?%TEMP%\\", "aXbYc", "abc", "ab?c",
              "", "x", "xy", "İYX", "i̇yx", "SSaß", "ßz", "ẞz", "a" * 5000 + "b_c", "\x00>\x00%temp%\\"]
    comp = Compiler(None)
    for group in ([p] for p in pats):
        vm, _ = comp.string_values([SigmaString(p) for p in group])
        rx = [re2.compile(_wild_regex(SigmaString(p), lower=True)) for p in group]
        for v in values:
            want = any(r.search(v.lower()) is not None for r in rx)
            assert vm(v, {}) is want, (group, v)
    vm, _ = comp.string_values([SigmaString(p) for p in pats])
    for v in values:
        want = any(re2.compile(_wild_regex(SigmaString(p), lower=True)).search(v.lower()) is not None for p in pats)
        assert vm(v, {}) is want, v
