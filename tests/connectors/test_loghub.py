"""loghub's real Linux, OpenSSH and Apache error-log samples (2,000 lines each).

Every line must parse or be dead-lettered with a reason; today every line
parses, so the test asserts that, and that the content was understood (share of
sshd lines with an action, source addresses found), not only the header.
"""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line
from tests.connectors.elastic_compare import SHARED

LOGHUB = SHARED / "logs" / "loghub"


def _run(fmt: str, rel: str) -> tuple[list[dict], list[tuple[str, str]]]:
    path = LOGHUB / rel
    if not path.is_file():
        pytest.skip(f"loghub sample {path} is absent (../shared is not checked out)")
    docs, dead = [], []
    ctx = ParseContext()
    for line in path.read_bytes().decode("utf-8", errors="surrogateescape").splitlines():
        if not line.strip():
            continue
        try:
            docs.extend(parse_line(fmt, line, ctx))
        except ParseError as exc:
            assert exc.reason, "a dead letter needs a reason"
            dead.append((line, exc.reason))
    return docs, dead


def test_openssh() -> None:
    docs, dead = _run("auth", "OpenSSH/OpenSSH_2k.log")
    assert len(docs) == 2000 and dead == []
    actions = Counter(d["event"].get("action") for d in docs)
    assert actions["ssh_login"] > 700
    assert actions["authentication_failure"] > 600
    assert sum(1 for d in docs if "action" in d["event"]) / len(docs) > 0.95
    failed = [d for d in docs if d["event"].get("action") == "ssh_login" and d["event"].get("outcome") == "failure"]
    assert failed and all("ip" in d["source"] for d in failed if " from " in d["message"])
    assert {d["host"]["name"] for d in docs} == {"LabSZ"}


def test_linux() -> None:
    docs, dead = _run("auth", "Linux/Linux_2k.log")
    assert len(docs) == 2000 and dead == []
    assert all(d["@timestamp"].endswith("Z") and d["host"]["name"] == "combo" for d in docs)
    # "syslogd 1.4.1: restart." and "-- root[2421]: ..." carry no tag: 8 lines of 2,000.
    assert sum(1 for d in docs if d.get("process", {}).get("name")) >= 1990
    sessions = [d for d in docs if d["event"].get("action") == "session_opened"]
    assert sessions and all(d["user"]["name"] for d in sessions)
    docs2, dead2 = _run("syslog", "Linux/Linux_2k.log")
    assert len(docs2) == 2000 and dead2 == []
    assert all(d["event"]["dataset"] == "system.syslog" for d in docs2)


def test_apache_error() -> None:
    docs, dead = _run("apache", "Apache/Apache_2k.log")
    assert len(docs) == 2000 and dead == []
    assert all(d["event"]["dataset"] == "apache.error" for d in docs)
    levels = Counter(d["log"]["level"] for d in docs)
    assert levels["error"] > 0 and levels["notice"] > 0
    assert any("ip" in d.get("source", {}) for d in docs)
