"""The prefilter (JSON-form literals, pruned field text, keyword text, logsource signature) never loses a hit.

Every case checks the prefiltered path against naive evaluation of every rule (``hits``), and some check
that a rule is *not* a candidate when its literal only occurs in a form or a place the rule cannot match.
"""

from __future__ import annotations

from detectors.sigma import SigmaEngine
from detectors.sigma.compiler import (
    anchored,
    bare,
    decimal_equals,
    event_haystack,
    prune_tree,
    pruned,
    to_str,
)

from .test_semantics import DET, engine_for, hits, proc


def _det(*lines: str) -> str:
    return "\n".join(DET + x for x in lines)


def test_equals_literal_is_a_whole_value(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    Image: 'C:\\Tools\\x.exe'", "condition: sel"))
    assert hits(eng, proc(Image="c:\\tools\\X.EXE"))
    # the text inside a longer value: not even a candidate (a bare substring literal would be one)
    ev = proc(Image="c:\\other.exe", CommandLine="run c:\\tools\\x.exe now")
    assert eng.candidates(ev) == []
    assert not hits(eng, ev)
    # the same whole value in a field no rule of the logsource reads: not searched at all
    ev = proc(Image="c:\\other.exe", Unread="c:\\tools\\x.exe")
    assert eng.candidates(ev) == []
    # ... but in another field the rule reads it is a candidate, and evaluation decides
    ev = proc(Image="c:\\other.exe", ParentImage="c:\\tools\\x.exe")
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
    for v in (4242, "4242", " 4242", "4242.0", 4242.0, "+04242.00", ["1", "4242"]):
        assert hits(eng, proc(ProcessId=v)), v
    # decimal strings only (documented): what float() would also accept is not a number here
    for v in ("42420", "4.242e3", "4_242", "\uff14\uff12\uff14\uff12", "4242.5", -4242, "1" * 5000):
        assert not hits(eng, proc(ProcessId=v)), v
    neg = engine_for(write_rule, _det("sel:", "    ProcessId: -17", "condition: sel"))
    assert hits(neg, proc(ProcessId="-17")) and hits(neg, proc(ProcessId=-17.0))
    assert not hits(neg, proc(ProcessId="17"))


def test_floats_compare_as_written_in_json(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    Ratio: '0.000015'", "condition: sel"))
    assert hits(eng, proc(Ratio=1.5e-05))
    assert not hits(eng, proc(Ratio=float("nan")))
    flag = engine_for(write_rule, _det("sel:", "    Flag|startswith: 'tr'", "condition: sel"))
    assert hits(flag, proc(Flag=True))


def test_regex_literals_from_groups_and_alternations(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|re: '-[a-z]{3}\\.workers\\.dev|\\.up\\.railway\\.(app|io)'",
                                      "condition: sel"))
    assert hits(eng, proc(CommandLine="curl https://x-abc.workers.dev/a"))
    assert hits(eng, proc(CommandLine="curl https://y.up.railway.io"))
    ev = proc(CommandLine="curl https://example.com")
    assert eng.candidates(ev) == []  # a literal was found for each branch: not evaluated on every event
    assert not hits(eng, ev)
    # syntax Python's parser reads differently from RE2 claims no literal (the rule is always evaluated)
    posix = engine_for(write_rule, _det("sel:", "    CommandLine|re: '[[:digit:]]abc'", "condition: sel"))
    assert hits(posix, proc(CommandLine="x5abc"))
    rep = engine_for(write_rule, _det("sel:", "    CommandLine|re: 'ab{,2}c'", "condition: sel"))
    assert hits(rep, proc(CommandLine="ab{,2}c")) and not hits(rep, proc(CommandLine="abc"))


def test_case_folds_that_lower_case_misses(write_rule):
    # RE2's case-insensitive matching folds the long s into s; the haystack and literals are case-folded too
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|re: '(?i)password'", "condition: sel"))
    assert hits(eng, proc(CommandLine="PA\u017f\u017fWORD"))
    # a final capital sigma lower-cases by context; folding does not depend on it
    sig = engine_for(write_rule, _det("sel:", "    CommandLine|contains: '\u039f\u0394\u039f\u03a3 x'", "condition: sel"))
    assert hits(sig, proc(CommandLine="\u039f\u0394\u039f\u03a3 X"))
    assert hits(sig, proc(CommandLine="x\u03bf\u03b4\u03bf\u03c2 x"))


def test_long_counted_repetition_is_fast_enough(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|re: '.{1000,}'", "condition: sel"))
    assert hits(eng, proc(CommandLine="A" * 3000))
    assert not hits(eng, proc(CommandLine="A" * 999))
    assert not hits(eng, proc(CommandLine=("A" * 600 + "\n") * 3))  # '.' does not cross lines


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


def test_pruned_event_keeps_what_accessors_read():
    tree = prune_tree(["winlog.event_data.Image", "Image", "~winlog.event_data.SourceName", "a", "a.b"])
    ev = {"winlog": {"event_data": {"Image": "C:\\X", "Other": "skip", "Source Name": "RTP"}, "x": "skip"},
          "a": {"b": ["y", 3, {"deep": "kept whole"}]}, "Image": "top", "winlog.event_data.Image": "dotted",
          "other": "skip"}
    view = pruned(ev, tree)
    assert view == {"winlog": {"event_data": {"Image": "C:\\X", "Source Name": "RTP"}},
                    "a": {"b": ["y", 3, {"deep": "kept whole"}]}, "Image": "top",
                    "winlog.event_data.Image": "dotted"}
    hay = event_haystack(view, False)
    assert hay is not None and b"skip" not in hay and b'"c:\\\\x"' in hay


def test_haystack_is_lower_case_json_without_the_raw_record():
    ev = {"event": {"original": "RAW Secret", "code": 4688}, "msg": "Tab\there \"Q\" \u00c9", "n": 1.5e-05,
          "big": 2**70}
    assert event_haystack(ev) is None  # beyond 64 bits: the engine evaluates every rule instead
    del ev["big"]
    hay = event_haystack(ev)
    assert hay is not None
    text = hay.decode()
    assert "raw secret" not in text and '"code":4688' in text
    assert bare('tab\there "q" \u00e9') is not None
    assert next(iter(bare('tab\there "q" \u00e9') or ())) in text
    # numbers: string comparisons see them as written in JSON, as the haystack does
    assert to_str(1.5e-05) in text and to_str(float("nan")) is None
    assert next(iter(anchored("4688", "eq") or ())) == "4688"  # could be a number: no quotes
    assert next(iter(anchored("cmd.exe", "eq") or ())) == '"cmd.exe"'
    assert decimal_equals(" +04688.000 ", 4688) and not decimal_equals("4.688e3", 4688)


def test_raw_record_searched_when_a_rule_reads_it(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    event.original|contains: 'evil'", "condition: sel"),
                     ignore_logsource=True, field_mapping=False)
    assert hits(eng, {"event": {"original": "an EVIL line"}})


def test_event_without_json_form_is_evaluated_naively(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|contains: whoami", "condition: sel"))
    ev = proc(CommandLine="whoami /all", Huge=2**80)
    assert hits(eng, ev)
    assert not hits(eng, proc(CommandLine="hostname", Huge=2**80))


def test_bucket_cache_follows_the_logsource(write_rule):
    eng: SigmaEngine = engine_for(write_rule, _det("sel:", "    CommandLine|contains: whoami", "condition: sel"))
    sysmon1 = proc(CommandLine="whoami")
    sysmon3 = {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 3,
                          "event_data": {"CommandLine": "whoami"}}}
    for _ in range(2):  # second round served from the signature cache
        assert hits(eng, sysmon1)
        assert not hits(eng, sysmon3)


def test_field_text_holds_values_not_keys(write_rule):
    """Literals are searched in the values the rules read: a key name is no hit."""
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|contains: 'commandline'", "condition: sel"))
    ev = proc(CommandLine="whoami")
    assert eng.candidates(ev) == []  # the key "CommandLine" would have been a hit in the JSON of a dict
    assert not hits(eng, ev)
    assert hits(eng, proc(CommandLine="x /commandline y"))
    b = eng._event_bucket(ev)
    assert b is not None
    values: list = []
    b.extract({"winlog": {"event_data": {"CommandLine": "v", "Other": "skip"}, "x": "skip"}}, values)
    assert values == ["v"]


def test_value_extractor_equals_pruned_view():
    from detectors.sigma.compiler import iter_scalars, value_extractor

    tree = prune_tree(["winlog.event_data.Image", "Image", "~winlog.event_data.SourceName", "a", "a.b", "x.y.z"])
    ev = {"winlog": {"event_data": {"Image": "C:\\X", "Other": "skip", "Source Name": "RTP"}, "x": "skip"},
          "a": {"b": ["y", 3, {"deep": "kept whole"}]}, "Image": "top", "winlog.event_data.Image": "dotted",
          "other": "skip", "x": {"y": "not a dict"}}
    values: list = []
    value_extractor(tree)(ev, values)
    assert sorted(map(repr, iter_scalars(values))) == sorted(map(repr, iter_scalars(pruned(ev, tree))))
    assert "skip" not in values


def test_or_of_ands_gives_a_rare_clause(write_rule):
    """``(a and p) or (b and p)`` requires ``p``: a common image alone does not make the rule a candidate."""
    eng = engine_for(write_rule, _det(
        "ps:", "    Image|endswith: '\\powershell.exe'", "    CommandLine|contains|all: ['Pester', 'Get-Help']",
        "cmd:", "    Image|endswith: '\\cmd.exe'", "    CommandLine|contains|all: ['pester', ';']",
        "condition: ps or cmd"))
    (rule,) = eng.compiled_rules
    assert frozenset({"pester"}) in rule.req
    ev = proc(Image="c:\\windows\\powershell.exe", CommandLine="powershell -c get-help x")
    assert eng.candidates(ev) == []
    assert not hits(eng, ev)
    assert hits(eng, proc(Image="c:\\windows\\powershell.exe", CommandLine="Invoke-Pester; get-help"))
    assert hits(eng, proc(Image="c:\\windows\\cmd.exe", CommandLine="pester;x"))
    assert not hits(eng, proc(Image="c:\\windows\\cmd.exe", CommandLine="pester x"))


def test_many_or_branches_stay_bounded(write_rule):
    from detectors.sigma.compiler import MAX_OR_CLAUSES

    sels = []
    for i in range(6):
        sels += [f"s{i}:", f"    CommandLine|contains|all: ['aa{i}x', 'bb{i}y', 'cc{i}z']"]
    eng = engine_for(write_rule, _det(*sels, "condition: 1 of s*"))
    (rule,) = eng.compiled_rules
    assert 1 <= len(rule.req) <= MAX_OR_CLAUSES  # 3**6 combinations cut down
    assert hits(eng, proc(CommandLine="AA5X bb5y cc5z"))
    assert not hits(eng, proc(CommandLine="aa5x bb4y cc3z"))


def test_overlapping_keyword_literals_are_all_found(write_rule):
    """The keyword text is first checked for any literal (leftmost-first), then searched for all of them."""
    eng = engine_for(write_rule, _det("k1:", "    - 'abcd'", "k2:", "    - 'bcdef'", "condition: k1 and k2"),
                     logsource="product: linux")
    ev = {"event": {"module": "system"}, "msg": "xxABCDEFxx"}
    assert hits(eng, ev)
    assert not hits(eng, {"event": {"module": "system"}, "msg": "xxabcdxx"})
    assert eng.candidates({"event": {"module": "system"}, "msg": "nothing"}) == []


def test_key_that_is_not_a_string_is_no_error(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    SourceName: 'rtp'", "condition: sel"),
                     logsource="product: windows, service: windefend")
    ev = {"winlog": {"channel": "Microsoft-Windows-Windows Defender/Operational", "event_id": "1116",
                     "event_data": {"Source Name": "RTP", 5: "five"}}}
    assert hits(eng, ev)


def test_event_signature_cache_keeps_distinct_values_apart():
    """Signatures of non-Windows events are normalised once per distinct raw tuple, without conflating values."""
    from detectors.sigma.logsources import event_signature

    a = event_signature({"event": {"module": "Zeek", "category": ["Network", "DNS"]}})
    assert a == event_signature({"event": {"module": "zeek ", "category": ["network", "dns"]}})
    assert a[3] == frozenset({"network", "dns"})
    assert event_signature({"event": {"module": True}})[1] == "true"
    assert event_signature({"event": {"module": 1}})[1] == "1"  # 1 == True, but not the same signature
    # unhashable values (a dict where a string belongs) are normalised without the cache
    assert event_signature({"event": {"category": [{"x": 1}]}, "observer": {"type": {"a": 1}}})[5] == "{'a': 1}"


def test_keyword_in_a_value_no_rule_reads_of_a_windows_event(write_rule):
    """Keyword literals are found in values outside the field text (the second list), wherever they sit."""
    eng = engine_for(write_rule, _det("keywords:", "    - 'sekurlsa::'", "sel:", "    Image|endswith: '\\x.exe'",
                                      "condition: keywords or sel"), logsource="product: windows")
    for where in ({"event_data": {"Unread": "x SEKURLSA::logonpasswords"}}, {"process_name": "sekurlsa::x"}):
        ev = {"winlog": {"channel": "Security", "event_id": 4688, **where}}
        assert hits(eng, ev)
        assert eng.candidates(ev)
    ev = {"winlog": {"channel": "Security", "event_id": 4688}, "event": {"original": "sekurlsa::x"}}
    assert not hits(eng, ev)


def test_regex_shorter_than_its_shortest_match_is_not_searched(write_rule):
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|re: 'ab.{20,}z'", "condition: sel"))
    assert hits(eng, proc(CommandLine="xxab" + "-" * 20 + "z"))
    assert not hits(eng, proc(CommandLine="ab" + "-" * 19 + "z"))
    # a POSIX class reads differently in Python's parser: no length claimed, RE2 decides
    eng = engine_for(write_rule, _det("sel:", "    CommandLine|re: '[[:digit:]]{3}'", "condition: sel"))
    assert hits(eng, proc(CommandLine="123"))
    from detectors.sigma.compiler import regex_min_length

    assert regex_min_length("ab.{20,}z") == 23
    assert regex_min_length("[[:digit:]]{3}") == 0
    assert regex_min_length("a|bcd") == 1


def test_event_signature_reads_literal_dotted_keys_like_nested_ones():
    from detectors.sigma.logsources import event_signature

    nested = {"event": {"module": "x", "category": ["network"]}, "observer": {"type": "Firewall"},
              "host": {"os": {"type": "linux", "family": "debian"}}, "process": {"name": "sshd"},
              "dns": {"question": {"name": "a.vn"}}, "fortinet": {"firewall": {"type": "traffic"}}}
    dotted = {"event": {"module": "x", "category": ["network"]}, "observer.type": "Firewall",
              "host.os.type": "linux", "host.os.family": "debian", "process.name": "sshd",
              "dns.question.name": "a.vn", "fortinet.firewall.type": "traffic"}
    assert event_signature(nested) == event_signature(dotted)
    assert event_signature(nested)[5:] == ("firewall", "traffic", "linux", "sshd", True)
    # a non-dict where an object belongs reads as absent, as in the nested walk
    assert event_signature({"host": "h", "dns": {"question": "q"}})[-2:] == (None, False)


def test_value_extractor_plans_for_large_dicts_keep_exactly_what_accessors_read():
    """Large dicts are read by a plan remembered per key layout: values of the next event, never the first's."""
    from detectors.sigma.compiler import PLAN_MIN_KEYS, iter_scalars, value_extractor

    tree = prune_tree(["winlog.event_data.Image", "~winlog.event_data.SourceName", "winlog.event_data.K3"])
    extract = value_extractor(tree)

    def event(tag: str) -> dict:
        data = {f"K{i}": f"{tag}{i}" for i in range(PLAN_MIN_KEYS + 3)}
        data.update({"Image": f"{tag}-image", "Source Name": f"{tag}-rtp"})
        return {"winlog": {"event_data": data}}

    for tag in ("a", "b"):  # the second event reuses the first one's plan
        ev = event(tag)
        values: list = []
        extract(ev, values)
        assert sorted(values) == sorted([f"{tag}-image", f"{tag}-rtp", f"{tag}3"])
        assert sorted(map(repr, iter_scalars(values))) == sorted(map(repr, iter_scalars(pruned(ev, tree))))
    ev = event("c")
    # keys that are not strings where spaced names are looked for: no accessor reads them (paths are strings)
    ev["winlog"]["event_data"][5] = "five"
    ev["winlog"]["event_data"][(" ", "x")] = "tuple"
    values = []
    extract(ev, values)
    assert sorted(values) == sorted(["c-image", "c-rtp", "c3"])
    assert sorted(map(repr, iter_scalars(values))) == sorted(map(repr, iter_scalars(pruned(ev, tree))))


def test_keyword_text_holds_string_values_only(write_rule):
    """Keywords compare string values one at a time: a keyword found only in a key name, across JSON punctuation
    or in a number never matched, and is now not even a candidate; in a string value it still matches."""
    eng = engine_for(write_rule, _det("keywords:", "    - 'commandline'", "    - '\":\"'", "    - '4688'",
                                      "    - 'a\",\"b'", "condition: keywords"), logsource="product: linux")
    base = {"event": {"module": "system"}}
    for ev in ({**base, "CommandLine": "x"}, {**base, "k": "v"}, {**base, "code": 4688}, {**base, "l": ["a", "b"]},
               {**base, "event": {"module": "system", "original": "commandline"}}):
        assert eng.candidates(ev) == [], ev
        assert not hits(eng, ev)
    for ev in ({**base, "m": "The CommandLine was"}, {**base, "m": 'key":"value'}, {**base, "m": "id 4688"},
               {**base, "m": ['x a","b y']}, {**base, "deep": [{"m": "COMMANDLINE"}]}):
        assert hits(eng, ev), ev


def test_windows_bucket_cache_agrees_with_the_signature_for_every_channel_and_event_id_type(write_rule):
    """A Windows event's signature is cached by its raw channel and event id: the same as computed afresh."""
    from detectors.sigma.logsources import _WINDOWS_SIGNATURES, _windows_signature, event_signature

    _WINDOWS_SIGNATURES.clear()
    eng = engine_for(write_rule, _det("sel:", "    EventID: 4688", "condition: sel"),
                     logsource="product: windows, service: security")
    channels = ["Security", "SECURITY", "security ", "System", None, 5, ["Security"], {"a": 1}]
    ids = [4688, "4688", " 4688", 4688.0, True, None, "x", [4688], 1]
    events = [{"winlog": {"channel": ch, "event_id": eid}} for ch in channels for eid in ids]

    class Winlog(dict):  # a fresh engine's view of the same event
        pass

    fresh = engine_for(write_rule, _det("sel:", "    EventID: 4688", "condition: sel"),
                       logsource="product: windows, service: security")
    for _ in range(2):  # the second round reads the cache the first one filled
        for ev in events:
            other = {"winlog": Winlog(ev["winlog"])}
            w = ev["winlog"]
            assert event_signature(ev) == _windows_signature(w["channel"], w["event_id"]), ev
            assert eng.candidates(ev) == fresh.candidates(other), ev
            assert hits(eng, ev) == hits(fresh, other), ev
    assert eng.candidates({"winlog": {"channel": "Security", "event_id": "4688"}})
    assert not eng.candidates({"winlog": {"channel": "System", "event_id": "4688"}})
    # 1 == True == 1.0 as keys: only plain str/int/None pairs are kept (6 channels x 6 event ids), so a bool or
    # float never reuses them
    assert len(_WINDOWS_SIGNATURES) == 36
    assert all(k[2] in (str, int, type(None)) and k[3] in (str, int, type(None)) for k in _WINDOWS_SIGNATURES)
