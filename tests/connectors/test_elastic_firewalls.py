"""Firewall parsers against Elastic's pipeline-test expectations and Wazuh's decoder test lines.

Thresholds sit just under the agreement measured when the parsers were written;
the remaining differences are deliberate and listed in ``docs/parsers-firewalls.md``
(mostly: lines without a zone are read in the source's zone, Vietnam by default,
where Elastic's tests configured another zone; and test inputs whose IPs Elastic
replaced by GeoIP test addresses in the expected documents only).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line
from tests.connectors.elastic_compare import ELASTIC, SHARED, compare_vendor

#: Elastic vendor directory -> minimum share of equal values among fields both sides produce.
THRESHOLDS = {
    "fortinet_fortigate": 0.995,
    "pfsense": 0.87,
    "iptables": 0.96,
    "cisco_asa": 0.95,
    "panw": 0.93,
}

WAZUH = SHARED / "logs" / "wazuh"
#: Wazuh decoder test file stem -> our format.
WAZUH_FILES = {"fortigate": "fortigate", "pfsense": "pfsense", "iptables": "iptables", "cisco_asa": "cisco_asa",
               "paloalto": "panos"}
_LOG_LINE = re.compile(r"^log \d+ pass = (.*)$")


@pytest.mark.parametrize("vendor", sorted(THRESHOLDS))
def test_elastic_samples(vendor: str) -> None:
    if not (ELASTIC / vendor).is_dir():
        pytest.skip(f"Elastic test logs not found under {ELASTIC / vendor} (../shared is not checked out)")
    report = compare_vendor(vendor)
    print(f"{vendor}: records={report.records} parsed={report.parsed} fields compared={report.compared} "
          f"equal={report.equal} agreement={report.agreement:.1%}")
    assert report.records > 0
    assert report.dead == [], f"dead letters: {report.dead[:3]}"
    assert report.parsed == report.records
    assert report.compared > 100
    assert report.agreement >= THRESHOLDS[vendor], report.diffs.most_common(10)


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
