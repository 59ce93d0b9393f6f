"""Compare our parsers with Elastic's ingest pipelines on Elastic's own pipeline-test logs.

``../shared/logs/elastic/<package>/<stream>/`` holds inputs (``*.log`` one record per
line, or ``*.json`` with ``{"events": [{"message": ...}]}``) and ``*-expected.json``
with the documents Elastic's pipelines produce. For every field that both sides
produce, the values must be equal. Usage (prints a table per vendor)::

    .venv/bin/python -m tests.connectors.elastic_compare [vendor ...]
    .venv/bin/python -m tests.connectors.elastic_compare --diff VENDOR [VENDOR ...]   # every differing value

Comparison rules, documented in ``docs/parsers-firewalls.md`` and ``docs/parsers-servers.md``:
- timestamps (any ISO 8601 value) compare as instants (Elastic keeps the device offset, we store UTC);
- lists compare as multisets (order of ``related.ip`` is not meaningful);
- ``1`` equals ``1.0``; ``"1"`` does not equal ``1``;
- fields that only describe Elastic's own shipping are not compared (IGNORED);
- zone-less timestamps are read in the zone Elastic's test used (its ``event.timezone``, else UTC, Elastic's
  default), as a source's ``timezone`` setting would be set, and year-less syslog times get the year
  Elastic's test ran in;
- a JSON test event (``{"events": [...]}``) is an agent's event whose syslog header was already taken off:
  its ``message`` is the line we parse and its own ``@timestamp`` is the arrival time we pass
  (``ParseContext.received``); other pre-set fields of such events are not given to the parser.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.parsers import ParseContext, ParseError, parse_line
from soc import ecs

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ELASTIC = SHARED / "logs" / "elastic"

#: vendor directory -> our format name.
VENDORS: dict[str, str] = {
    "fortinet_fortigate": "fortigate",
    "pfsense": "pfsense",
    "iptables": "iptables",
    "cisco_asa": "cisco_asa",
    "panw": "panos",
    "squid": "squid",
    "nginx": "nginx",
    "apache": "apache",
    "system/auth": "auth",
    "auditd": "auditd",
}

IGNORED_PREFIXES = ("ecs.", "agent.", "input.", "log.offset", "log.file.", "event.ingested", "tags",
                    "data_stream.", "host.architecture", "host.os.", "host.id", "host.containerized",
                    "elastic_agent.", "_tmp", "error.message")



@dataclass
class Report:
    vendor: str
    records: int = 0
    parsed: int = 0
    dead: list[tuple[str, str]] = field(default_factory=list)
    compared: int = 0
    equal: int = 0
    diffs: Counter[str] = field(default_factory=Counter)
    examples: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: every differing value: (input file name, record number from 1, field, ours, Elastic's).
    details: list[tuple[str, int, str, Any, Any]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.equal / self.compared if self.compared else 1.0


def _instant(v: Any) -> datetime | None:
    if not isinstance(v, str) or len(v) < 19 or v[4] != "-":
        return None
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def values_equal(key: str, ours: Any, theirs: Any) -> bool:
    # Any two ISO 8601 times compare as instants (Elastic keeps the device offset, we store UTC).
    a, b = _instant(ours), _instant(theirs)
    if a is not None and b is not None:
        return a == b
    if isinstance(ours, list) and isinstance(theirs, list):
        return Counter(json.dumps(x, sort_keys=True) for x in ours) == Counter(
            json.dumps(x, sort_keys=True) for x in theirs)
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours is theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return float(ours) == float(theirs)
    return bool(ours == theirs)


def _zone(name: Any) -> tzinfo | None:
    if not isinstance(name, str) or not name:
        return None
    if name[0] in "+-" and name[1:].replace(":", "").isdigit():
        digits = name[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return timezone(delta if name[0] == "+" else -delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _inputs(path: Path) -> list[str | None]:
    return [line for line, _ in _inputs_timed(path)]


def _inputs_timed(path: Path) -> list[tuple[str | None, datetime | None]]:
    """Input records with the time their shipper stamped on them, if any: a JSON test event is what an
    agent sent after taking the syslog header off, and its ``@timestamp`` is when the line arrived."""
    if path.suffix == ".json":
        events = json.loads(path.read_text(encoding="utf-8")).get("events", [])
        return [(e.get("message"), _instant(e.get("@timestamp"))) if isinstance(e, dict) else (None, None)
                for e in events]
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    return [(ln, None) for ln in text.split("\n") if ln.strip()]


def sample_lines(vendors: tuple[str, ...], wazuh: tuple[str, ...], per_file: int,
                 wazuh_kinds: str = "pass") -> list[str]:
    """Real lines for fuzzing: up to ``per_file`` inputs of each Elastic test file of ``vendors`` plus the
    Wazuh decoder-test lines (``log N pass|fail = ...``) of the ``wazuh`` .ini files."""
    lines: list[str] = []
    if ELASTIC.is_dir():
        for vendor in vendors:
            for path in sorted((ELASTIC / vendor).rglob("*")):
                if path.is_file() and path.suffix in (".log", ".json") and not path.name.endswith("-expected.json"):
                    lines += [x for x in _inputs(path) if isinstance(x, str)][:per_file]
    folder = SHARED / "logs" / "wazuh" / "tests-4.x"
    for name in wazuh:
        p = folder / f"{name}.ini"
        if p.is_file():
            lines += re.findall(rf"(?m)^log \d+ (?:{wazuh_kinds}) = (.*)$",
                                p.read_text(encoding="utf-8", errors="replace"))
    return lines


def compare_file(path: Path, fmt: str, report: Report) -> None:
    exp_path = path.with_name(path.name + "-expected.json")
    if not exp_path.exists():
        return
    expected = json.loads(exp_path.read_text(encoding="utf-8")).get("expected", [])
    timed = _inputs_timed(path)
    if len(timed) != len(expected):
        # Multi-line inputs joined by Elastic's input: pair by event.original instead of position.
        by_orig = {ecs.get(e, "event.original"): e for e in expected if isinstance(e, dict)}
        pairs = [(ln, by_orig.get(ln), stamped) for ln, stamped in timed]
    else:
        pairs = [(ln, e, stamped) for (ln, stamped), e in zip(timed, expected, strict=True)]
    for n, (line, exp, stamped) in enumerate(pairs, 1):
        if line is None or exp is None:
            continue
        # Elastic's test ran with a configured zone for zone-less timestamps (recorded as event.timezone);
        # our sources have the same setting, so the comparison uses it.
        # Syslog lines carry no year: Elastic used the year its test ran in, i.e. the line "arrived" then
        # (14 hours later than the expected time, so a line without any time of its own cannot agree by
        # accident). A JSON test event stamped by its shipper arrived at that stamp.
        arrived = _instant(ecs.get(exp, "@timestamp")) or datetime(2024, 1, 1, tzinfo=UTC)
        ctx = ParseContext(received=stamped or arrived + timedelta(hours=14),
                           tz=_zone(ecs.get(exp, "event.timezone")) or UTC)
        report.records += 1
        line = line.rstrip("\n")
        try:
            docs = parse_line(fmt, line, ctx)
        except ParseError as exc:
            report.dead.append((line[:200], exc.reason))
            continue
        report.parsed += 1
        ours = ecs.flat(docs[0])
        theirs = ecs.flat(exp)
        for key, tv in theirs.items():
            if key.startswith(IGNORED_PREFIXES) or key not in ours:
                continue
            report.compared += 1
            if values_equal(key, ours[key], tv):
                report.equal += 1
            else:
                report.diffs[key] += 1
                report.examples.setdefault(key, (ours[key], tv))
                report.details.append((path.name, n, key, ours[key], tv))


def compare_vendor(vendor: str) -> Report:
    fmt = VENDORS[vendor]
    report = Report(vendor)
    for path in sorted((ELASTIC / vendor).rglob("*")):
        if path.is_file() and path.suffix in (".log", ".json") and not path.name.endswith("-expected.json"):
            compare_file(path, fmt, report)
    return report


def print_diff(report: Report) -> None:
    """Every differing value of one vendor, grouped by input file and record (``--diff VENDOR``)."""
    last = None
    for name, n, key, ours, theirs in report.details:
        if (name, n) != last:
            print(f"  {name} #{n}")
            last = (name, n)
        print(f"      {key}: ours={ours!r:.160}\n      {' ' * len(key)}  elastic={theirs!r:.160}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--diff"]:
        if len(argv) < 2 or any(v not in VENDORS for v in argv[1:]):
            print(f"usage: --diff VENDOR [VENDOR ...]; vendors: {' '.join(VENDORS)}", file=sys.stderr)
            return 2
        for v in argv[1:]:
            r = compare_vendor(v)
            print(f"{v}: {r.equal}/{r.compared} equal ({r.agreement:.1%}), {len(r.details)} differences")
            print_diff(r)
        return 0
    vendors = argv or list(VENDORS)
    print(f"{'vendor':22} {'records':>7} {'parsed':>7} {'fields':>7} {'equal':>7} {'agree':>7}")
    for v in vendors:
        r = compare_vendor(v)
        print(f"{v:22} {r.records:7} {r.parsed:7} {r.compared:7} {r.equal:7} {r.agreement:7.1%}")
        for key, n in r.diffs.most_common(15):
            o, t = r.examples[key]
            print(f"    {n:4}x {key}: ours={o!r:.80} elastic={t!r:.80}")
        for line, why in r.dead[:5]:
            print(f"    dead: {why}: {line[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
