"""The prefilter (field-tagged literals, keyword text, logsource signature) never loses a hit, and narrows.

Every case checks the prefiltered path against naive evaluation of every rule (``hits``), and some check
that a rule is *not* a candidate when its literal sits in a field the rule does not read.
"""

from __future__ import annotations

from detectors.sigma import SigmaEngine
from detectors.sigma.compiler import field_haystack, path_trie

from .test_semantics import DET, engine_for, hits, proc


def _det(*lines: str) -> str:
    return "\n".join(DET + x for x in lines)


def test_equals_literal_names_its_field(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    Image: 'C:\\Tools\\x.exe'", "condition: sel"))
    assert hits(eng, proc(Image="c:\\tools\\X.EXE"))
    # the same text in another field: not even a candidate (a bare substring literal would be one)
    ev = proc(Image="c:\\other.exe", CommandLine="c:\\tools\\x.exe")
    assert eng.candidates(ev) == []
    assert not hits(eng, ev)
    # a longer value is not equal
    assert not hits(eng, proc(Image="c:\\tools\\x.exe.bak"))


def test_startswith_and_endswith_literals(write_rule):
    eng = engine_for(write_rule, _det("a:", "    Image|startswith: 'C:\\Temp\\'", "b:",
                                      "    ParentImage|endswith: '\\winword.exe'", "condition: a and b"))
    assert hits(eng, proc(Image="C:\\TEMP\\a.exe", ParentImage="c:\\office\\WINWORD.EXE"))
    assert not hits(eng, proc(Image="D:\\temp\\a.exe", ParentImage="c:\\office\\winword.exe"))
    ev = proc(Image="x C:\\temp\\", ParentImage="c:\\office\\winword.exe")
    assert eng.candidates(ev) == []
    assert not hits(eng, ev)


def test_empty_value_equality(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine: ''", "condition: sel"))
    assert hits(eng, proc(CommandLine=""))
    assert not hits(eng, proc(CommandLine="x"))


def test_list_and_object_values(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    user.roles: admin", "condition: sel"), logsource="product: linux")
    assert hits(eng, {"event": {"module": "system"}, "user": {"roles": ["dev", "ADMIN"]}})
    assert not hits(eng, {"event": {"module": "system"}, "user": {"roles": [{"name": "admin"}]}})
    assert not hits(eng, {"event": {"module": "system"}, "user": {"roles": {"admin": "admin"}}})


def test_keys_with_spaces_and_literal_dotted_keys(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    SourceName: 'Real-Time Protection'", "condition: sel"),
                     logsource="product: windows, service: windefend")
    ev = {"winlog": {"channel": "Microsoft-Windows-Windows Defender/Operational", "event_id": "1116",
                     "event_data": {"Source Name": "Real-Time Protection"}}}
    assert hits(eng, ev)
    plain = engine_for(write_rule, _det("sel:", "    a.b: x", "condition: sel"), ignore_logsource=True,
                       field_mapping=False)
    assert hits(plain, {"a.b": "X"})
    assert hits(plain, {"a": {"b": "x"}})
    assert not hits(plain, {"a": {"c": "x"}})


def test_numbers_written_differently(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    ProcessId: 4242", "condition: sel"))
    for v in (4242, "4242", " 4242", "4242.0", 4242.0):
        assert hits(eng, proc(ProcessId=v)), v
    assert not hits(eng, proc(ProcessId="42420"))


def test_keywords_search_fields_no_rule_reads(write_rule):
    field_rule = write_rule("""
    title: field rule in the same logsource
    id: 22222222-2222-4222-8222-222222222222
    logsource: {product: linux}
    detection:
        sel:
            process.name: sshd
        condition: sel
    """)
    engine_for(write_rule, _det("keywords:", "    - 'evil-token'", "condition: keywords"), logsource="product: linux")
    eng = SigmaEngine.from_paths([field_rule.parent])  # both rules: one bucket with field and keyword literals
    ev = {"event": {"module": "system"}, "process": {"name": "sshd"}, "custom": {"note": "an EVIL-TOKEN here"}}
    assert {r.title for r in eng.matching_rules(ev)} == {"t", "field rule in the same logsource"}
    assert hits(eng, ev)
    # keywords do not search the raw record
    assert not hits(eng, {"event": {"module": "system", "original": "evil-token"}})


def test_single_non_ascii_character_is_a_literal(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|contains:", "        - '\u0430'", "        - 'x\u0435'",
                                      "condition: sel"))
    ev = proc(CommandLine="powershell -enc abc")
    assert eng.candidates(ev) == []  # not evaluated on every event any more
    assert not hits(eng, ev)
    assert hits(eng, proc(CommandLine="p\u0430ssword"))
    assert hits(eng, proc(CommandLine="p\u0410ssword"))  # upper case Cyrillic A


def test_haystack_tags_values_with_their_paths():
    trie = path_trie(["winlog.event_data.Image", "Image", "~winlog.event_data.SourceName", "a", "a.b"])
    hay = field_haystack({"winlog": {"event_data": {"Image": "C:\\X", "Other": "skip", "Source Name": "RTP"}},
                          "a": {"b": ["y", 3, {"deep": "no"}]}, "Image": "top"}, trie)
    assert "skip" not in hay and "no" not in hay
    for text in ("\\x:\\x", "rtp", "y", "3", "top"):
        assert text.replace("\\x:\\x", "c:\\x") in hay


def test_bucket_cache_follows_the_logsource(write_rule):
    eng: SigmaEngine = engine_for(write_rule, _det("sel:", "    CommandLine|contains: whoami", "condition: sel"))
    sysmon1 = proc(CommandLine="whoami")
    sysmon3 = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 3,
                          "event_data": {"CommandLine": "whoami"}}}
    for _ in range(2):  # second round served from the signature cache
        assert hits(eng, sysmon1)
        assert not hits(eng, sysmon3)
