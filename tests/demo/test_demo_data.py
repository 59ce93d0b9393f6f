"""The demo dataset: inventory, determinism, every line parsed, agency enrichment, and the attack's behaviours.

The behaviour checks read the parsed ECS fields that generic detections use
(``source.ip``, ``destination.port``, ``event.outcome``...), so they fail if the
data stops showing a phase or a parser stops extracting what rules need.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.parsers import FORMATS, ParseContext, ParseError, get_parser
from demo import generate as gen
from demo import topology as topo
from soc import ecs
from soc.inventory import Inventory

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "demo" / "data"
FIXED_START = "2026-11-30T08:00:00+07:00"
START = datetime.fromisoformat(FIXED_START)
END = START + gen.SPAN
FILES = {"fortigate.log": "fortigate", "squid.log": "squid", "nginx.log": "nginx", "auth.log": "auth",
         "winlog.jsonl": "winlog"}


def _lines(name: str) -> list[str]:
    return (SHIPPED / name).read_text(encoding="utf-8").splitlines()


def _parser_or_skip(fmt: str) -> Any:
    module = FORMATS[fmt]
    if importlib.util.find_spec(f"connectors.parsers.{module}") is None:
        pytest.skip(f"parser connectors/parsers/{module}.py does not exist yet; rerun once it is written")
    return get_parser(fmt)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return Inventory.load(ROOT / "inventory.yaml")


_parsed_cache: dict[str, list[dict[str, Any]]] = {}


def parsed(fmt_file: str) -> list[dict[str, Any]]:
    """Every document of a shipped file, parsed once per test session; a ParseError fails the caller."""
    if fmt_file not in _parsed_cache:
        parse = _parser_or_skip(FILES[fmt_file])
        ctx = ParseContext(source=f"demo-{FILES[fmt_file]}", received=END + timedelta(days=1))
        docs: list[dict[str, Any]] = []
        for i, line in enumerate(_lines(fmt_file), 1):
            try:
                out = parse(line, ctx)
            except ParseError as exc:
                pytest.fail(f"{fmt_file}:{i}: dead letter ({exc.reason}): {line[:200]}")
            docs.extend(out if isinstance(out, list) else [out])
        _parsed_cache[fmt_file] = docs
    return _parsed_cache[fmt_file]


def _ts(doc: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))


# --------------------------------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------------------------------
def test_inventory_describes_two_agencies_with_levels_and_four_layers(inventory: Inventory) -> None:
    assert set(inventory.agencies) == {topo.STC, topo.LC}
    levels = {s.id: s.level for a in inventory.model.agencies for s in a.systems}
    assert levels["stc-portal"] == 3 and levels["stc-findb"] == 4 and levels["stc-workstations"] == 2
    assert levels["lc-dvc"] == 4 and levels["lc-ad"] == 3 and levels["lc-workstations"] == 2
    for a in inventory.model.agencies:
        assert a.name_en and any(ord(c) > 127 for c in a.name), "Vietnamese name with diacritics expected"
        c = a.contacts
        assert c.layer1.primary.email and c.layer1.backup and c.layer1.backup.email
        assert c.layer1.primary.email.endswith("@haiphong.gov.vn")
        assert c.layer2 and c.layer3 and c.layer4
        assert c.layer3.next_assessment


def test_inventory_uses_only_private_or_documentation_ranges(inventory: Inventory) -> None:
    allowed = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "203.0.113.0/24", "198.51.100.0/24")]
    for a in inventory.model.agencies:
        for s in a.systems:
            for r in s.ip_ranges:
                net = ipaddress.ip_network(r, strict=False)
                assert isinstance(net, ipaddress.IPv4Network), r
                assert any(net.subnet_of(x) for x in allowed), f"{a.id}/{s.id}: {r} is not a private/doc range"


def test_topology_agrees_with_inventory(inventory: Inventory) -> None:
    """Each host the logs mention is found in the inventory, by address and by name, as the right system."""
    for ip, host in topo.by_ip().items():
        hit = inventory.lookup_ip(ip)
        assert hit and (hit[0].id, hit[1].id) == (host.agency, host.system), ip
    for host in topo.ALL_HOSTS:
        hit = inventory.lookup_host(host.name)
        assert hit and (hit[0].id, hit[1].id) == (host.agency, host.system), host.name
    for outsider in (topo.ATTACKER_IP, topo.EXFIL_IP, topo.PHISH_IP, topo.C2_IP, topo.CITY_PROXY_IP):
        assert inventory.lookup_ip(outsider) is None


# --------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------
def _read_all(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in FILES}


def test_generator_is_deterministic_and_shipped_copy_is_current(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    gen.generate(START, a)
    gen.generate(START, b)
    first = _read_all(a)
    assert first == _read_all(b)
    assert all(first.values())
    assert first == _read_all(SHIPPED), "demo/data is stale: regenerate it with " \
                                        f"python demo/generate.py --start {FIXED_START} --out demo/data"
    gen.generate(START, tmp_path / "c", seed=gen.DEFAULT_SEED + 1)
    assert _read_all(tmp_path / "c") != first


def test_cli_writes_every_file_and_rejects_a_bad_start(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "demo" / "generate.py"), "--start", "2026-12-01T02:30:00Z",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "total" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    r = subprocess.run([sys.executable, str(ROOT / "demo" / "generate.py"), "--start", "yesterday",
                        "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "ISO 8601" in r.stderr


def test_default_start_is_three_hours_ago() -> None:
    start = gen.parse_start(None)
    assert abs((datetime.now(UTC) - gen.SPAN - start).total_seconds()) < 5
    assert gen.parse_start("2026-11-30T08:00:00") == START  # no offset: Vietnam time


def test_size_is_a_few_thousand_lines_and_a_few_megabytes() -> None:
    total = sum(len(_lines(n)) for n in FILES)
    size = sum((SHIPPED / n).stat().st_size for n in FILES)
    assert 3_000 <= total <= 20_000, total
    assert size < 5_000_000, size


# --------------------------------------------------------------------------------------------------
# Parsing and enrichment
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FILES))
def test_every_line_parses_inside_the_window(name: str) -> None:
    docs = parsed(name)
    assert len(docs) >= len(_lines(name))
    for d in docs:
        assert d["event"]["original"]
        ts = _ts(d)
        assert START <= ts <= END, (ts, d["event"]["original"][:200])


def _expected_asset(doc: dict[str, Any], by_ip: dict[str, topo.Host]) -> topo.Host | None:
    for f in ("host.name", "host.hostname"):
        v = ecs.get(doc, f)
        if isinstance(v, str):
            for h in topo.ALL_HOSTS:
                if h.name.lower() == v.lower().split(".")[0]:
                    return h
    for f in ("destination.ip", "source.ip"):
        v = ecs.get(doc, f)
        if isinstance(v, str) and v in by_ip:
            return by_ip[v]
    return None


@pytest.mark.parametrize("name", ["fortigate.log", "squid.log", "auth.log", "winlog.jsonl"])
def test_agency_assets_are_enriched(name: str, inventory: Inventory) -> None:
    by_ip = topo.by_ip()
    levels = {s.id: s.level for a in inventory.model.agencies for s in a.systems}
    seen: Counter[str] = Counter()
    for d in parsed(name):
        want = _expected_asset(d, by_ip)
        inventory.enrich(d)
        if want is None:
            continue
        got = (ecs.get(d, "soc.agency.id"), ecs.get(d, "soc.system.id"), ecs.get(d, "soc.system.level"))
        assert got == (want.agency, want.system, levels[want.system]), d["event"]["original"][:300]
        seen[want.system] += 1
    assert seen, f"no event of {name} concerns an agency asset"


def test_attack_events_land_on_the_right_systems(inventory: Inventory) -> None:
    fw = [inventory.enrich(d) for d in parsed("fortigate.log")]

    def systems(pred: Any) -> set[tuple[str, int]]:
        return {(ecs.get(d, "soc.system.id"), ecs.get(d, "soc.system.level")) for d in fw if pred(d)}

    assert systems(lambda d: ecs.get(d, "source.ip") == topo.ATTACKER_IP) == {("stc-portal", 3)}
    assert systems(lambda d: ecs.get(d, "destination.ip") == topo.EXFIL_IP
                   and ecs.get(d, "source.ip") == topo.STC_DB.ip) == {("stc-findb", 4)}
    virus = [d for d in fw if ecs.get(d, "fortinet.firewall.subtype") == "virus"]
    assert virus and {ecs.get(d, "soc.agency.id") for d in virus} == {topo.LC}


# --------------------------------------------------------------------------------------------------
# The attack's behaviours, as generic detections see them
# --------------------------------------------------------------------------------------------------
def _fgt(sub: str | None = None) -> list[dict[str, Any]]:
    return [d for d in parsed("fortigate.log") if sub is None or ecs.get(d, "fortinet.firewall.subtype") == sub]


def test_recon_port_scan_many_denied_ports_in_minutes() -> None:
    denies = [d for d in _fgt() if ecs.get(d, "source.ip") == topo.ATTACKER_IP
              and ecs.get(d, "event.action") == "deny"]
    ports = {ecs.get(d, "destination.port") for d in denies}
    assert len(ports) >= 200
    span = max(map(_ts, denies)) - min(map(_ts, denies))
    assert span <= timedelta(minutes=5)
    assert {ecs.get(d, "destination.ip") for d in denies} == {topo.STC_PORTAL_PUBLIC}
    # Background scanners never come close to that.
    other = Counter(ecs.get(d, "source.ip") for d in _fgt() if ecs.get(d, "event.action") == "deny"
                    and ecs.get(d, "source.ip") != topo.ATTACKER_IP)
    assert max(other.values()) < 10


def test_web_attack_sqli_traversal_webshell() -> None:
    reqs = [d for d in parsed("nginx.log") if ecs.get(d, "source.ip") == topo.ATTACKER_IP]
    urls = [ecs.get(d, "url.original") or "" for d in reqs]
    assert sum("UNION%20ALL%20SELECT" in u or "SLEEP(" in u for u in urls) >= 10
    assert any("../" in u and "etc/passwd" in u for u in urls)
    uploads = [d for d in reqs if ecs.get(d, "http.request.method") == "POST"
               and (ecs.get(d, "url.path") or "").endswith("upload.php")
               and ecs.get(d, "http.response.status_code") == 200]
    assert uploads
    shell_cmds = [d for d in reqs if (ecs.get(d, "url.path") or "").startswith("/uploads/")
                  and (ecs.get(d, "url.extension") == "php") and "cmd=" in (ecs.get(d, "url.query") or "")]
    assert len(shell_cmds) >= 5
    assert min(map(_ts, uploads)) < min(map(_ts, shell_cmds))
    ips = [d for d in _fgt("ips") if ecs.get(d, "source.ip") == topo.ATTACKER_IP]
    assert ips


def test_ssh_bruteforce_then_success_sudo_and_backdoor_account() -> None:
    docs = parsed("auth.log")
    fails = [d for d in docs if ecs.get(d, "source.ip") == topo.ATTACKER_IP
             and ecs.get(d, "event.outcome") == "failure" and "Failed password" in d["message"]]
    ok = [d for d in docs if ecs.get(d, "source.ip") == topo.ATTACKER_IP and "Accepted password" in d["message"]]
    assert len(fails) >= 100 and ok
    assert max(map(_ts, fails)) < min(map(_ts, ok))
    assert max(map(_ts, fails)) - min(map(_ts, fails)) < timedelta(minutes=15)
    first_ok = min(map(_ts, ok))
    sudo_root = [d for d in docs if ecs.get(d, "process.name") == "sudo" and ecs.get(d, "user.name") == "webadmin"
                 and ecs.get(d, "user.effective.name") == "root"]
    assert sudo_root and min(map(_ts, sudo_root)) > first_ok
    useradd = [d for d in docs if ecs.get(d, "process.name") == "useradd" and "new user" in d["message"]]
    assert useradd and min(map(_ts, useradd)) > first_ok
    # Background failures from other addresses stay isolated.
    other = Counter(ecs.get(d, "source.ip") for d in docs if ecs.get(d, "event.outcome") == "failure"
                    and ecs.get(d, "source.ip") not in (None, topo.ATTACKER_IP))
    assert not other or max(other.values()) < 5


def test_exfiltration_large_upload_from_the_database_server() -> None:
    out = [d for d in _fgt("forward") if ecs.get(d, "source.ip") == topo.STC_DB.ip
           and ecs.get(d, "destination.ip") == topo.EXFIL_IP]
    sent = sum(ecs.get(d, "source.bytes") or 0 for d in out)
    assert sent > 1_000_000_000
    biggest_other = max((ecs.get(d, "source.bytes") or 0) for d in _fgt("forward")
                        if ecs.get(d, "destination.ip") != topo.EXFIL_IP)
    assert biggest_other < 10_000_000
    beacon_ips = [d for d in _fgt("ips") if ecs.get(d, "source.ip") == topo.STC_DB.ip]
    assert beacon_ips and ecs.get(beacon_ips[0], "fortinet.firewall.severity") == "critical"


def test_phishing_download_and_beaconing_through_the_proxy() -> None:
    docs = [d for d in parsed("squid.log") if ecs.get(d, "source.ip") == topo.LC_VICTIM.ip]
    assert any(topo.PHISH_DOMAIN in (ecs.get(d, "url.original") or "") for d in docs)
    exe = [d for d in docs if ecs.get(d, "url.extension") == "exe"]
    assert exe and ecs.get(exe[0], "url.domain") == topo.PHISH_IP
    beacons = sorted(_ts(d) for d in docs if ecs.get(d, "url.domain") == topo.C2_DOMAIN)
    assert len(beacons) >= 60
    gaps = [(b - a).total_seconds() for a, b in zip(beacons, beacons[1:], strict=False)]
    assert 50 <= statistics.median(gaps) <= 70
    assert statistics.pstdev(gaps) > 1, "beacons need jitter"
    assert max(gaps) < 80
    assert [d for d in _fgt("virus") if ecs.get(d, "source.ip") == topo.LC_VICTIM.ip]


def test_windows_events_office_spawns_encoded_powershell_spray_and_new_admin() -> None:
    """Checked on the Winlogbeat documents themselves (the winlog parser maps them to ECS)."""
    evs = [json.loads(line) for line in _lines("winlog.jsonl")]

    def data(e: dict[str, Any]) -> dict[str, str]:
        return e["winlog"]["event_data"]  # type: ignore[no-any-return]

    ps = [e for e in evs if e["winlog"]["event_id"] == "1" and data(e)["Image"].endswith("powershell.exe")]
    assert ps and data(ps[0])["ParentImage"].endswith("WINWORD.EXE")
    assert " -enc " in data(ps[0])["CommandLine"] and "-w hidden" in data(ps[0])["CommandLine"]
    failed = [e for e in evs if e["winlog"]["event_id"] == "4625"]
    logon = [e for e in evs if e["winlog"]["event_id"] == "4624" and data(e)["IpAddress"] == topo.LC_VICTIM.ip
             and data(e)["TargetUserName"] != topo.LC_VICTIM.user]
    assert len(failed) >= 10 and {data(e)["IpAddress"] for e in failed} == {topo.LC_VICTIM.ip}
    assert logon and max(e["@timestamp"] for e in failed) < logon[0]["@timestamp"]
    assert [e for e in evs if e["winlog"]["event_id"] == "4720"]
    assert [e for e in evs if e["winlog"]["event_id"] == "4728" and data(e)["TargetUserName"] == "Domain Admins"]
    assert {e["host"]["name"] for e in evs} == {topo.LC_VICTIM.name.lower(), topo.LC_DC.name.lower()}


def test_parsed_windows_events_keep_what_process_and_logon_rules_need() -> None:
    docs = parsed("winlog.jsonl")
    ps = [d for d in docs if (ecs.get(d, "process.executable") or "").lower().endswith("powershell.exe")
          and (ecs.get(d, "process.parent.executable") or "").upper().endswith("WINWORD.EXE")]
    assert ps and " -enc " in ecs.get(ps[0], "process.command_line")
    failed = [d for d in docs if ecs.get(d, "event.code") == "4625"]
    assert failed and {ecs.get(d, "source.ip") for d in failed} == {topo.LC_VICTIM.ip}
    assert all(ecs.get(d, "event.outcome") == "failure" for d in failed)
