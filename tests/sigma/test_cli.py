"""The detection commands, run as a user runs them (a real ``soc`` process, real files, real Parquet store)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from soc.storage.schema import SCHEMA, to_row

REPO = Path(__file__).resolve().parents[2]
DEMO_RULES = REPO / "rules" / "haiphong"


def soc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "soc.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=300)


def alerts_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


AUTH_LINES = [
    *[f"Nov 30 09:10:{i:02d} web01 sshd[1234]: Failed password for root from 203.0.113.50 port {40000 + i} ssh2"
      for i in range(12)],
    "Nov 30 09:11:30 web01 sshd[1234]: Accepted password for admin from 203.0.113.50 port 40100 ssh2",
    "Nov 30 09:11:31 web01 sudo:    admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/bin/bash",
    "Nov 30 09:12:01 web01 useradd[999]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash",
]


def test_detect_demo_attack_on_auth_log(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("\n".join([*AUTH_LINES, "%%% not a log line %%%"]) + "\n")
    res = soc("detect", "--rules", str(DEMO_RULES), str(log))  # format auto
    assert res.returncode == 0, res.stderr
    names = [a["rule"]["name"] for a in alerts_of(res.stdout)]
    assert "SSH Brute Force From One Source Address" in names
    assert "SSH Login Succeeds After Repeated Failures From The Same Address" in names
    assert "Sudo To A Root Shell" in names
    assert "New Local User Added On Linux Server" in names
    assert "SSH Failed Login" not in names  # only feeds the correlations
    for a in alerts_of(res.stdout):
        assert a["rule"]["id"] and a["rule"]["level"] and a["events"] and isinstance(a["rule"]["tags"], list)
    assert "1 unparsed" in res.stderr


def test_detect_json_fields_as_given_and_ignore_logsource(tmp_path):
    rule = tmp_path / "r.yml"
    rule.write_text("""
title: Raw field rule
id: 66666666-6666-4666-8666-666666666666
logsource: {product: windows, category: process_creation}
detection:
    sel:
        CommandLine|contains: mimikatz
        proc.user: admin
    condition: sel
level: high
""")
    events = tmp_path / "ev.json"
    events.write_text("\n".join([
        json.dumps({"CommandLine": "mimikatz.exe", "proc": {"user": "admin"}}),
        json.dumps({"CommandLine": "notepad", "proc": {"user": "admin"}}),
        "{broken json",
    ]) + "\n")
    res = soc("detect", "--rules", str(rule), "--format", "json", "--ignore-logsource", str(events))
    assert res.returncode == 0, res.stderr
    (a,) = alerts_of(res.stdout)
    assert a["events"][0]["CommandLine"] == "mimikatz.exe"
    assert "1 unparsed" in res.stderr
    # without --ignore-logsource the raw JSON is no Windows event: no alert
    res2 = soc("detect", "--rules", str(rule), "--format", "json", str(events))
    assert alerts_of(res2.stdout) == []


def test_rules_test_and_convert(tmp_path):
    sample = tmp_path / "access.log"
    sample.write_text('203.0.113.9 - - [30/Nov/2026:09:00:00 +0700] "GET /index.php?id=1%27%20or%201=1-- HTTP/1.1" '
                      '200 512 "-" "sqlmap/1.7"\n')
    rule = DEMO_RULES / "web" / "sqli_attempt.yml"
    res = soc("rules", "test", str(rule), "--sample", str(sample), "--format", "nginx")
    assert res.returncode == 0, res.stderr + res.stdout
    assert alerts_of(res.stdout)[0]["rule"]["name"].startswith("SQL Injection")
    clean = tmp_path / "clean.log"
    clean.write_text('10.0.0.1 - - [30/Nov/2026:09:00:00 +0700] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0"\n')
    assert soc("rules", "test", str(rule), "--sample", str(clean), "--format", "nginx").returncode == 1
    for target, needle in (("lucene", "url.original"), ("esql", "url.original"), ("sqlite", "SELECT")):
        res = soc("rules", "convert", str(rule), "--target", target)
        assert res.returncode == 0, res.stderr
        assert needle in res.stdout
    assert soc("rules", "convert", str(rule), "--target", "nope").returncode != 0


def write_store(data_dir: Path, events: list[dict]) -> None:
    by_part: dict[tuple[str, str], list[dict]] = {}
    for ev in events:
        day = ev["@timestamp"][:10]
        by_part.setdefault((day, ev["event"]["dataset"]), []).append(to_row(ev))
    for (day, dataset), rows in by_part.items():
        d = data_dir / "events" / f"day={day}" / f"dataset={dataset}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), d / "part-0.parquet")


def test_hunt_and_backtest_give_streaming_alerts(tmp_path):
    from connectors.parsers import ParseContext, parse_line
    from detectors.sigma import SigmaEngine

    now = datetime.now(UTC).replace(microsecond=0)
    events = []
    for i, line in enumerate(AUTH_LINES):
        ev = parse_line("auth", line, ParseContext())[0]
        ev["@timestamp"] = (now - timedelta(hours=2) + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        events.append(ev)
    write_store(tmp_path / "data", events)
    cfg = tmp_path / "soc.toml"
    cfg.write_text(f'data_dir = "{(tmp_path / "data").as_posix()}"\n')
    res = soc("--config", str(cfg), "hunt", str(DEMO_RULES / "linux"), "--from", "1d")
    assert res.returncode == 0, res.stderr
    hunted = sorted(a["rule"]["name"] for a in alerts_of(res.stdout))
    streaming = SigmaEngine.from_paths([DEMO_RULES / "linux"])
    expected = [a["rule"]["name"] for ev in events for a in streaming.process(ev)]
    expected += [a["rule"]["name"] for a in streaming.flush(datetime(9000, 1, 1, tzinfo=UTC))]
    assert hunted == sorted(expected) and len(hunted) >= 4
    # a correlation file whose base rule lives elsewhere: --with resolves it, its own alerts are not printed
    corr = soc("--config", str(cfg), "hunt", str(DEMO_RULES / "linux" / "ssh_bruteforce_single_source.yml"),
               "--with", str(DEMO_RULES / "linux"), "--from", "1d")
    assert corr.returncode == 0, corr.stderr
    assert [a["rule"]["name"] for a in alerts_of(corr.stdout)] == ["SSH Brute Force From One Source Address"]
    bt = soc("--config", str(cfg), "rules", "backtest", str(DEMO_RULES / "linux"), "--days", "2")
    assert bt.returncode == 0, bt.stderr
    assert now.date().isoformat() in bt.stdout or (now - timedelta(hours=2)).date().isoformat() in bt.stdout
    assert f"{len(hunted)} alerts" in bt.stderr


@pytest.mark.elasticsearch
def test_hunt_elasticsearch(tmp_path):
    import os

    url = os.environ.get("SOC_TEST_ELASTICSEARCH_URL")
    if not url:
        pytest.skip("set SOC_TEST_ELASTICSEARCH_URL to run Elasticsearch hunts against a real cluster")
    from elasticsearch import Elasticsearch

    from connectors.parsers import ParseContext, parse_line

    es = Elasticsearch(url)
    index = "soc-events-sigmatest"
    es.options(ignore_status=404).indices.delete(index=index)
    now = datetime.now(UTC)
    for i, line in enumerate(AUTH_LINES):
        ev = parse_line("auth", line, ParseContext())[0]
        ev["@timestamp"] = (now - timedelta(minutes=30) + timedelta(seconds=i)).isoformat()
        es.index(index=index, document=ev)
    es.indices.refresh(index=index)
    cfg = tmp_path / "soc.toml"
    cfg.write_text(f'[storage]\nevents_backend = "elasticsearch"\n[storage.elasticsearch]\nurl = "{url}"\n'
                   f'index_prefix = "soc-events"\n')
    res = soc("--config", str(cfg), "hunt", str(DEMO_RULES / "linux" / "sudo_root_shell.yml"), "--from", "1d")
    assert res.returncode == 0, res.stderr
    assert [a["rule"]["name"] for a in alerts_of(res.stdout)] == ["Sudo To A Root Shell"]
