"""Server parsers against Elastic's pipeline-test expectations (``../shared/logs/elastic``).

Every record must parse (no dead letter) and the values of the fields both
sides produce must agree at least as much as measured when the parsers were
written. The remaining differences are deliberate and listed in
``docs/parsers-servers.md`` (BSD timestamps read in the source's zone, Vietnam
by default, and with an inferred year, where Elastic's tests assumed UTC and
the year they ran; ``event.action`` as a string where Elastic's auditd
pipeline makes a one-element list; inputs whose addresses Elastic replaced in
the expected documents only).
"""

from __future__ import annotations

import pytest

from tests.connectors.elastic_compare import ELASTIC, compare_vendor

#: vendor directory -> (minimum agreement, minimum number of compared values).
THRESHOLDS = {
    "squid": (0.99, 400),
    "nginx": (0.98, 300),
    "apache": (0.99, 240),
    "system/auth": (0.93, 700),
    "auditd": (0.93, 1000),
}


@pytest.mark.parametrize("vendor", sorted(THRESHOLDS))
def test_elastic_samples(vendor: str) -> None:
    if not (ELASTIC / vendor).is_dir():
        pytest.skip(f"Elastic test logs not found under {ELASTIC / vendor} (../shared is not checked out)")
    report = compare_vendor(vendor)
    assert report.records > 0
    assert report.dead == [], f"{vendor}: records dead-lettered: {report.dead[:3]}"
    assert report.parsed == report.records
    minimum, min_fields = THRESHOLDS[vendor]
    assert report.compared >= min_fields, f"{vendor}: only {report.compared} values compared"
    worst = report.diffs.most_common(5)
    assert report.agreement >= minimum, f"{vendor}: agreement {report.agreement:.1%} < {minimum:.0%}; {worst}"
