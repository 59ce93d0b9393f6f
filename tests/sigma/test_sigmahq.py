"""Material nobody here wrote: the SigmaHQ rule set and its regression samples."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.sigma.evtx_adapter import to_winlog


def test_every_sigmahq_rejection_is_a_named_unsupported_feature(sigmahq_engine):
    eng = sigmahq_engine
    reasons = Counter(re.sub(r" \(.*\)$", "", r) for _, _, r in eng.errors)
    allowed = ("unsupported logsource:", "placeholder %")
    unexpected = {r: n for r, n in reasons.items() if not r.startswith(allowed)}
    assert not unexpected, unexpected
    # we load the large majority of the corpus (Windows, Linux, network, web, proxy)
    assert len(eng.rules) > 3000
    print(f"\nSigmaHQ: {len(eng.rules)} loaded, {len(eng.errors)} rejected")
    for r, n in reasons.most_common():
        print(f"  {n:4d} {r}")


def test_regression_samples_fire(sigmahq_engine, regression_cases):
    eng = sigmahq_engine
    by_id = {r.id: r for r in eng.compiled_rules}
    fired, missed = 0, []
    for rid, title, raw in regression_cases:
        rule = by_id.get(rid)
        events = [to_winlog(e) for e in raw]
        if rule is not None and any(rule in eng.matching_rules(ev) for ev in events):
            fired += 1
        else:
            missed.append((rid, title, "not loaded" if rule is None else "no match"))
    print(f"\nregression samples: {fired} of {len(regression_cases)} rules fire on their sample")
    assert not missed, missed


def test_prefilter_loses_no_hit(sigmahq_engine, regression_cases):
    """Candidates from the Aho-Corasick prefilter give exactly the matches of evaluating every rule."""
    eng = sigmahq_engine
    events = [to_winlog(e) for _, _, raw in regression_cases for e in raw]
    # variants: same events with values changed in case and trimmed, to exercise near misses
    variants = []
    for ev in events:
        data = ev["winlog"].get("event_data", {})
        upper = {k: v.upper() if isinstance(v, str) else v for k, v in data.items()}
        cut = {k: v[: len(v) // 2] if isinstance(v, str) else v for k, v in data.items()}
        for d in (upper, cut):
            variants.append({**ev, "winlog": {**ev["winlog"], "event_data": d}})
    total = 0
    for ev in events + variants:
        fast = {r.id for r in eng.matching_rules(ev)}
        naive = {r.id for r in eng.matching_rules(ev, naive=True)}
        assert fast == naive, (ev, fast ^ naive)
        total += len(fast)
    assert total > len(events)  # the comparison is not vacuous


def evtx_flat_events(limit: int) -> list[dict]:
    """Events of the shared EVTX recordings (read with the project's EVTX reader), as flat fields."""
    from tests.sigma.conftest import SHARED
    from tests.sigma.evtx_adapter import flat_fields

    root = SHARED / "evtx"
    if not root.exists():
        return []
    from connectors.evtx_reader import iter_evtx

    out: list[dict] = []
    for f in sorted(root.rglob("*.evtx")):
        try:
            for rec, _ in iter_evtx(f):
                if rec is not None:
                    out.append(flat_fields(rec))
                if len(out) >= limit:
                    return out
        except Exception:  # an unreadable recording is not what this test is about
            continue
    return out


@pytest.mark.slow
def test_differential_against_sqlite_backend(regression_cases):
    """Our match sets equal pysigma-backend-sqlite's on the regression and EVTX events, rule by rule."""
    from tests.sigma.conftest import SIGMA
    from tests.sigma.differential import engine_matches, sqlite_matches
    from tests.sigma.evtx_adapter import flat_fields

    events = [flat_fields(e) for _, _, raw in regression_cases for e in raw]
    events += evtx_flat_events(3000)
    paths = sorted(p for d in ("rules/windows", "rules-emerging-threats", "rules-threat-hunting/windows")
                   for p in (SIGMA / d).rglob("*.yml"))
    ours, _ = engine_matches(paths, events)
    ref, skipped = sqlite_matches(paths, events)
    common = set(ours) & set(ref)
    diffs = {rid: (sorted(ours[rid] - ref[rid]), sorted(ref[rid] - ours[rid])) for rid in common
             if ours[rid] != ref[rid]}
    print(f"\ndifferential: {len(common)} rules compared on {len(events)} events, "
          f"{len(diffs)} differences, {len(skipped)} rules the backend cannot convert")
    assert len(common) > 2500
    assert sum(len(v) for v in ours.values()) > 200
    assert not diffs, diffs


def test_alert_explanations_use_what_the_match_implies(sigmahq_engine, regression_cases):
    """Explaining a match from what the condition implies names the same selections as evaluating each one."""
    eng = sigmahq_engine
    compared = skipped = 0
    for _, _, raw in regression_cases:
        for ev in (to_winlog(e) for e in raw):
            for rule in eng.matching_rules(ev):
                assert eng.explain(rule, ev, matched=True) == eng.explain(rule, ev), rule.title
                compared += 1
                skipped += len(rule.implied)
    assert compared > 100 and skipped > compared  # most explanations skip re-evaluation
