"""Server parsers against Elastic's pipeline-test expectations (``../shared/logs/elastic``).

Every record must parse (no dead letter). The agreement is pinned at the figures measured (issue #3):
the number of values equal to Elastic's may not fall and the number of differing values may not grow.
Every remaining difference is deliberate and explained, record by record, in
``docs/parsers-servers.md`` (``python -m tests.connectors.elastic_compare --diff VENDOR`` lists them).
"""

from __future__ import annotations

import pytest

from tests.connectors.elastic_compare import ELASTIC, compare_vendor

#: vendor directory -> (values equal to Elastic's, values that differ), as measured.
PINNED = {
    "squid": (429, 3),
    "nginx": (315, 6),
    "apache": (245, 2),
    "system/auth": (721, 14),
    "auditd": (965, 58),
}


@pytest.mark.parametrize("vendor", sorted(PINNED))
def test_elastic_samples(vendor: str) -> None:
    if not (ELASTIC / vendor).is_dir():
        pytest.skip(f"Elastic test logs not found under {ELASTIC / vendor} (../shared is not checked out)")
    report = compare_vendor(vendor)
    assert report.records > 0
    assert report.dead == [], f"{vendor}: records dead-lettered: {report.dead[:3]}"
    assert report.parsed == report.records
    min_equal, max_diff = PINNED[vendor]
    differing = report.compared - report.equal
    assert report.equal >= min_equal, f"{vendor}: {report.equal} equal values < {min_equal}"
    assert differing <= max_diff, (f"{vendor}: {differing} differing values > {max_diff} "
                                   f"(--diff {vendor}): {report.diffs.most_common(5)}")
