"""Firewall parsers against Elastic's pipeline-test expectations and Wazuh's decoder test lines.

The agreement is pinned at the figures measured (issue #3): the number of values equal to Elastic's
may not fall and the number of differing values may not grow. Every remaining difference is deliberate
and explained, record by record, in ``docs/parsers-firewalls.md``
(``python -m tests.connectors.elastic_compare --diff VENDOR`` lists them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line
from tests.connectors.elastic_compare import ELASTIC, SHARED, compare_vendor

#: Elastic vendor directory -> (values equal to Elastic's, values that differ), as measured.
PINNED = {
    "fortinet_fortigate": (2057, 0),
    "pfsense": (1227, 119),
    "iptables": (750, 4),
    "cisco_asa": (428, 12),
    "panw": (499, 15),
}

WAZUH = SHARED / "logs" / "wazuh"
#: Wazuh decoder test file stem -> our format.
WAZUH_FILES = {"fortigate": "fortigate", "pfsense": "pfsense", "iptables": "iptables", "cisco_asa": "cisco_asa",
               "paloalto": "panos"}
_LOG_LINE = re.compile(r"^log \d+ pass = (.*)$")


@pytest.mark.parametrize("vendor", sorted(PINNED))
def test_elastic_samples(vendor: str) -> None:
    if not (ELASTIC / vendor).is_dir():
        pytest.skip(f"Elastic test logs not found under {ELASTIC / vendor} (../shared is not checked out)")
    report = compare_vendor(vendor)
    print(f"{vendor}: records={report.records} parsed={report.parsed} fields compared={report.compared} "
          f"equal={report.equal} agreement={report.agreement:.1%}")
    assert report.records > 0
    assert report.dead == [], f"dead letters: {report.dead[:3]}"
    assert report.parsed == report.records
    min_equal, max_diff = PINNED[vendor]
    differing = report.compared - report.equal
    assert report.equal >= min_equal, f"{vendor}: {report.equal} equal values < {min_equal}"
    assert differing <= max_diff, (f"{vendor}: {differing} differing values > {max_diff} "
                                   f"(--diff {vendor}): {report.diffs.most_common(10)}")


def _wazuh_lines() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(WAZUH.glob("tests-*/*.ini")):
        fmt = WAZUH_FILES.get(path.stem)
        if fmt is None:
            continue
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _LOG_LINE.match(raw)
            if m:
                out.append((f"{path.parent.name}/{path.name}", fmt, m.group(1)))
    return out


def test_wazuh_decoder_lines_parse() -> None:
    if not WAZUH.is_dir():
        pytest.skip(f"Wazuh decoder tests not found under {WAZUH} (../shared is not checked out)")
    lines = _wazuh_lines()
    assert len(lines) > 200
    ctx = ParseContext()
    dead = []
    formats = set()
    for where, fmt, line in lines:
        try:
            docs = parse_line(fmt, line, ctx)
        except ParseError as exc:
            dead.append((where, exc.reason, line[:120]))
            continue
        formats.add(fmt)
        for doc in docs:
            assert doc["event"]["original"] == line
            assert doc["@timestamp"].endswith("Z")
            assert doc["event"]["dataset"]
    assert dead == []
    assert formats == set(WAZUH_FILES.values())


def test_shared_path_layout() -> None:
    # The compare tool and these tests resolve ../shared from the repository root.
    assert Path(__file__).resolve().parents[2].parent / "shared" == SHARED
