"""Wazuh decoder test lines for the server formats must all parse (no dead letter).

The ``.ini`` files (``../shared/logs/wazuh/tests-*/``) hold real log lines with the
Wazuh decoder that must read them; each decoder maps to one of our formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line
from tests.connectors.elastic_compare import SHARED

WAZUH = SHARED / "logs" / "wazuh"
#: Wazuh decoder -> our format.
DECODERS = {"sshd": "auth", "sudo": "auth", "su": "auth", "pam": "auth", "apache-errorlog": "apache",
            "nginx-errorlog": "nginx", "web-accesslog": "apache", "squid-accesslog": "squid",
            "auditd": "auditd", "windows": "winlog"}
_LOG = re.compile(r"^log \d+ (?:pass|fail) = (?P<line>.*)$")
_DECODER = re.compile(r"^decoder = (?P<decoder>.*)$")


def iter_cases(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield ``(section, decoder, line)`` for every (uncommented) log line of one ``.ini`` file."""
    section, decoder = "", ""
    pending: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines() + ["[]"]:
        if raw.startswith("["):
            for ln in pending:
                yield section, decoder, ln
            section, decoder, pending = raw.strip("[] "), "", []
            continue
        m = _LOG.match(raw)
        if m:
            pending.append(m.group("line"))
        elif (md := _DECODER.match(raw)) is not None:
            decoder = md.group("decoder").strip()


def _cases() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(WAZUH.rglob("*.ini")) if WAZUH.is_dir() else []:
        for section, decoder, line in iter_cases(path):
            if decoder in DECODERS:
                out.append((f"{path.parent.name}/{path.name}:{section}", DECODERS[decoder], line))
    return out


CASES = _cases()


def test_wazuh_material_present() -> None:
    if not WAZUH.is_dir():
        pytest.skip(f"Wazuh test files not found under {WAZUH} (../shared is not checked out)")
    formats = {fmt for _, fmt, _ in CASES}
    assert formats == {"auth", "apache", "nginx", "squid", "auditd", "winlog"}
    assert len(CASES) > 250


@pytest.mark.parametrize(("where", "fmt", "line"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_wazuh_line_parses(where: str, fmt: str, line: str) -> None:
    try:
        docs = parse_line(fmt, line, ParseContext())
    except ParseError as exc:
        pytest.fail(f"{where}: {fmt} dead-lettered {line[:120]!r}: {exc.reason}")
    doc = docs[0]
    assert doc["event"]["original"] == line.rstrip("\r\n") or doc["event"]["original"] == line.strip()
    assert doc["@timestamp"].endswith("Z")
    assert doc["event"]["dataset"]


def test_wazuh_sshd_fields() -> None:
    """Spot-check that the content, not only the header, was understood."""
    ctx = ParseContext()
    d = parse_line("auth", "Jul  3 21:44:07 vmi189193 sshd[26279]: Failed password for invalid user sammy from "
                   "82.202.219.155 port 51676 ssh2", ctx)[0]
    assert (d["user"]["name"], d["source"]["ip"], d["source"]["port"]) == ("sammy", "82.202.219.155", 51676)
    assert d["event"]["outcome"] == "failure" and d["event"]["category"] == ["authentication"]
    d = parse_line("auth", "Aug 18 07:30:25 192.168.1.5 sshd[20247]: [ID 800047 auth.notice] Failed none for root "
                   "from 192.168.1.1 port 36942 ssh2", ctx)[0]
    assert d["user"]["name"] == "root" and d["system"]["auth"]["ssh"]["method"] == "none"
    d = parse_line("winlog", "2014 Dec 20 09:29:47 WinEvtLog: Microsoft-Windows-Sysmon/Operational: INFORMATION(1): "
                   "Microsoft-Windows-Sysmon: SYSTEM: NT AUTHORITY: WIN-U93G48C7BOP: Process Create:  UtcTime: x  "
                   "ProcessId: 3048  Image: C:\\Windows\\system32\\svchost.exe  CommandLine: \"C:\\a b.exe\" -x", ctx)[0]
    assert d["winlog"]["event_data"]["Image"] == "C:\\Windows\\system32\\svchost.exe"
    assert d["process"]["name"] == "svchost.exe" and d["process"]["command_line"] == '"C:\\a b.exe" -x'
    assert d["event"]["dataset"] == "windows.sysmon_operational"
