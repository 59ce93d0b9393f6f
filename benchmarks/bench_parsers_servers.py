"""Parser throughput for the server formats (one core, parse only): lines/s and peak memory.

    .venv/bin/python benchmarks/bench_parsers_servers.py [--lines 50000] [--repeat 3] [--formats squid auth ...]

Lines are varied (addresses, users, URLs, user agents change per line) so that
caches (user-agent parsing) see realistic hit rates; the ``winlog`` input is
Sysmon/Security JSON, ``auth`` is a mix dominated by sshd as in real auth logs, ``sshd`` is its login lines
(failed and accepted logins, what a brute-force attack floods a log with) and ``openssh`` is real sshd output:
loghub's ``OpenSSH_2k.log`` in ``../shared`` (every kind of message a server logs), repeated.
Prints lines per CPU second (the one-core figure, robust to other processes
sharing the machine) and per wall-clock second, per format, and the peak of Python allocations (tracemalloc,
measured in a second, shorter pass so it does not slow the timed one) and the
process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.parsers import ParseContext, get_parser  # noqa: E402

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "curl/8.{v}.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]


def squid(i: int) -> str:
    """Native access.log: plain HTTP through the cache, HTTPS tunnels (most of today's traffic),
    denials (auth required, blocked sites) and a few clients logged by name or IPv6."""
    ts, ms = 1764464000 + i // 50, i % 1000
    client = (f"10.20.{i % 200}.{i % 250}" if i % 23 else f"2001:db8::{i % 4000:x}" if i % 2
              else f"pc{i % 90}.hp.gov.vn")
    user = f"user{i % 40}" if i % 5 else "-"
    k = i % 10
    if k < 4:
        return (f"{ts}.{ms:03d} {i % 900:6d} {client} TCP_TUNNEL/200 {3000 + i % 90000} CONNECT "
                f"api{i % 60}.service{i % 300}.com.vn:443 {user} HIER_DIRECT/203.0.113.{i % 250} -")
    if k == 4:
        return (f"{ts}.{ms:03d} {i % 90:6d} {client} TCP_DENIED/{407 if i % 2 else 403} 3{i % 900:03d} GET "
                f"http://blocked{i % 70}.example.net/ads/{i % 50}.js - HIER_NONE/- text/html")
    hit = i % 3 == 0
    return (f"{ts}.{ms:03d} {i % 900:6d} {client} TCP_{'HIT' if hit else 'MISS'}/{200 if i % 7 else 304} "
            f"{500 + i % 9000} GET http://site{i % 800}.example.vn/path/{i % 50}/page.html?id={i} {user} "
            f"{'HIER_NONE/-' if hit else f'HIER_DIRECT/203.0.113.{i % 250}'} "
            f"{'text/html' if i % 4 else 'application/javascript'}")


def nginx(i: int) -> str:
    ua = UAS[i % len(UAS)].format(v=60 + i % 60)
    return (f'10.{i % 250}.{i % 200}.{i % 100} - - [30/Nov/2026:08:{i % 60:02d}:{i % 60:02d} +0700] '
            f'"GET /portal/{i % 300}/index.php?q={i} HTTP/1.1" {200 if i % 9 else 404} {1000 + i % 5000} '
            f'"https://haiphong.gov.vn/" "{ua}"')


def apache(i: int) -> str:
    if i % 5 == 0:
        return (f"[Mon Nov 30 08:{i % 60:02d}:{i % 60:02d}.123456 2026] [core:error] [pid {i % 9000}] "
                f"[client 10.1.{i % 250}.{i % 200}:{1024 + i % 60000}] AH00128: File does not exist: /var/www/{i}")
    return "vhost.gov.vn:443 " + nginx(i)


def auth(i: int) -> str:
    k = i % 10
    if k < 5:
        return (f"Nov 30 08:{i % 60:02d}:{i % 60:02d} srv01 sshd[{1000 + i % 50000}]: Failed password for "
                f"{'invalid user ' if i % 2 else ''}user{i % 300} from 203.0.{i % 250}.{i % 200} port "
                f"{1024 + i % 60000} ssh2")
    if k < 7:
        return (f"Nov 30 08:{i % 60:02d}:{i % 60:02d} srv01 sshd[{1000 + i % 50000}]: Accepted publickey for "
                f"admin{i % 10} from 10.0.{i % 250}.{i % 200} port {1024 + i % 60000} ssh2: RSA SHA256:abc{i}")
    if k == 7:
        return (f"Nov 30 08:{i % 60:02d}:{i % 60:02d} srv01 sshd[{1000 + i % 50000}]: pam_unix(sshd:session): "
                f"session opened for user admin{i % 10}(uid=1000) by (uid=0)")
    if k == 8:
        return (f"Nov 30 08:{i % 60:02d}:{i % 60:02d} srv01 sudo:   admin{i % 10} : TTY=pts/{i % 9} ; "
                f"PWD=/home/admin ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")
    return (f"Nov 30 08:{i % 60:02d}:{i % 60:02d} srv01 sshd[{1000 + i % 50000}]: Received disconnect from "
            f"203.0.{i % 250}.{i % 200} port {1024 + i % 60000}:11: Bye Bye [preauth]")


def sshd(i: int) -> str:
    return auth((i // 10) * 10 + i % 7)


def syslog(i: int) -> str:
    return f"<30>Nov 30 08:{i % 60:02d}:{i % 60:02d} host{i % 20} systemd[1]: Started Session {i} of user u{i % 9}."


def auditd(i: int) -> str:
    if i % 3 == 0:
        return (f"type=SYSCALL msg=audit({1764464000 + i // 20}.123:{i}): arch=c000003e syscall=59 success=yes "
                f"exit=0 a0=55d a1=55e a2=55f a3=0 items=2 ppid={i % 5000} pid={i % 9000} auid=1000 uid=0 gid=0 "
                f'euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 comm="bash" exe="/usr/bin/bash" '
                f'key="exec"')
    if i % 3 == 1:
        return (f"type=EXECVE msg=audit({1764464000 + i // 20}.123:{i}): argc=3 a0=\"ls\" a1=\"-la\" "
                f"a2=2F746D702F{i % 100:02d}")
    return (f"type=USER_LOGIN msg=audit({1764464000 + i // 20}.123:{i}): pid={i % 9000} uid=0 auid=1000 ses=3 "
            f"msg='op=login acct=\"user{i % 50}\" exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.{i % 250}.1 "
            f"terminal=ssh res={'success' if i % 4 else 'failed'}'")


def winlog(i: int) -> str:
    if i % 2:
        return json.dumps({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1,
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-30T01:00:00.123456Z"}}, "EventRecordID": i,
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": f"PC{i % 300}.hp.gov.vn"},
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": f"cmd.exe /c whoami {i}",
                          "ProcessId": i % 9000, "ParentImage": "C:\\Windows\\explorer.exe", "User": f"HP\\u{i % 99}",
                          "Hashes": "SHA1=AB12,MD5=CD34,SHA256=EF56,IMPHASH=0789"}}})
    return json.dumps({"@timestamp": "2026-11-30T01:00:00.123Z", "winlog": {
        "event_id": 4625, "channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing",
        "computer_name": "DC01", "event_data": {"TargetUserName": f"u{i % 500}", "TargetDomainName": "HP",
                                               "LogonType": "3", "IpAddress": f"203.0.113.{i % 250}",
                                               "IpPort": str(1024 + i % 60000), "Status": "0xc000006d"}}})


OPENSSH_LOG = Path(__file__).resolve().parents[1] / ".." / "shared" / "logs" / "loghub" / "OpenSSH" / "OpenSSH_2k.log"


@cache
def _openssh_lines() -> list[str]:
    return OPENSSH_LOG.read_text(encoding="utf-8", errors="replace").splitlines()


def openssh(i: int) -> str:
    lines = _openssh_lines()
    return lines[i % len(lines)]


GENERATORS: dict[str, tuple[str, Callable[[int], str]]] = {
    "squid": ("squid", squid), "sshd": ("auth", sshd), "openssh": ("auth", openssh), "auth": ("auth", auth),
    "nginx": ("nginx", nginx),
    "apache": ("apache", apache), "syslog": ("syslog", syslog), "auditd": ("auditd", auditd),
    "winlog": ("winlog", winlog),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=50_000, help="lines per format (default 50,000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per format, the best is shown")
    ap.add_argument("--formats", nargs="*", default=list(GENERATORS), choices=list(GENERATORS))
    args = ap.parse_args()
    ctx = ParseContext()
    cpu0 = time.process_time()
    for _ in range(5_000_000):
        pass
    calib = 5.0 / (time.process_time() - cpu0)
    print(f"calibration: empty Python loop {calib:.1f} M iterations per CPU second (to compare runs and machines)")
    print(f"{'input':8} {'parser':8} {'lines':>8} {'lines/cpu-s':>12} {'lines/s wall':>13} {'peak alloc':>11}")
    for name in args.formats:
        fmt, gen = GENERATORS[name]
        if gen is openssh and not OPENSSH_LOG.is_file():
            print(f"{name:8} skipped: {OPENSSH_LOG} is missing (check out ../shared beside the repository)")
            continue
        parse = get_parser(fmt)
        lines = [gen(i) for i in range(args.lines)]
        parse(lines[0], ctx)  # import and warm caches outside the timing
        took = cpu = float("inf")
        for _ in range(args.repeat):  # best of N: other processes on a shared machine only slow runs down
            start, cpu0 = time.perf_counter(), time.process_time()
            for ln in lines:
                parse(ln, ctx)
            took = min(took, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - cpu0)
        tracemalloc.start()
        for ln in lines[: min(2000, len(lines))]:
            parse(ln, ctx)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{name:8} {fmt:8} {len(lines):8} {len(lines) / max(cpu, 1e-9):12,.0f} {len(lines) / took:13,.0f} "
              f"{peak / 1024:9,.0f} kB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of this process: {rss / 1024:,.0f} MB (includes the generated input lines)")


if __name__ == "__main__":
    main()
