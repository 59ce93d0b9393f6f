"""The demo's network: agencies' hosts, their addresses and the attacker's infrastructure.

One place for the addresses the generator writes into logs and the tests check
against ``inventory.yaml``: the inventory is the agency's own description of
its assets, this module is what the devices would see. All agency addresses are
private (10.0.0.0/8) or documentation ranges (203.0.113.0/24, 198.51.100.0/24);
Internet addresses are only strings in log lines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    name: str
    """Host name as the machine writes it in its own logs (syslog host, Windows computer)."""
    ip: str
    agency: str
    system: str
    user: str | None = None
    """Usual (proxy / Windows) user of a workstation."""
    full_name: str | None = None


@dataclass(frozen=True)
class Firewall:
    devname: str
    devid: str
    agency: str
    public_ip: str
    """Source NAT address for outbound traffic."""
    lan: str
    """Interface names: lan, dmz, srv, wan, city (city WAN towards the shared proxy)."""
    dmz: str
    srv: str
    wan: str
    city: str


STC = "stc-haiphong"
LC = "ubnd-lechan"

# --- Sở Tài chính Hải Phòng (Department of Finance) -----------------------------------------------
STC_FW = Firewall("FGT100F-STC-HP", "FG100FTK22014527", STC, "203.0.113.2",
                  lan="port2", dmz="port3", srv="port4", wan="wan1", city="port8")
STC_PORTAL = Host("stc-portal-web01", "10.20.10.11", STC, "stc-portal")
STC_PORTAL_PUBLIC = "203.0.113.10"
STC_PORTAL_DOMAIN = "sotaichinh.haiphong.gov.vn"
STC_DB = Host("stc-db01", "10.20.20.15", STC, "stc-findb")
STC_DNS = Host("stc-dns01", "10.20.1.10", STC, "stc-infra")
STC_MONITOR = Host("stc-zabbix01", "10.20.1.20", STC, "stc-infra")
STC_ADMIN_PC = Host("STC-PC-ADM01", "10.20.100.10", STC, "stc-workstations", "quantri", "Phạm Văn Quân")
STC_USERS = [
    ("hoa.nt", "Nguyễn Thị Hoa"), ("tuan.lm", "Lê Minh Tuấn"), ("lan.pt", "Phạm Thị Lan"),
    ("dung.tv", "Trần Văn Dũng"), ("hang.vt", "Vũ Thu Hằng"), ("khoa.nd", "Nguyễn Đăng Khoa"),
    ("thuy.dt", "Đỗ Thị Thủy"), ("son.bh", "Bùi Hồng Sơn"), ("ngoc.ht", "Hoàng Thị Ngọc"),
    ("phuong.lt", "Lương Thu Phương"), ("hai.nv", "Ngô Văn Hải"), ("trang.mt", "Mai Thu Trang"),
    ("long.dq", "Đặng Quang Long"), ("yen.pt", "Phan Thị Yến"), ("cuong.tm", "Trịnh Mạnh Cường"),
    ("linh.vk", "Vũ Khánh Linh"), ("hieu.nm", "Nguyễn Minh Hiếu"), ("ha.tt", "Tạ Thu Hà"),
]
STC_PCS = [Host(f"STC-PC-{i + 1:03d}", f"10.20.100.{21 + i}", STC, "stc-workstations", u, n)
           for i, (u, n) in enumerate(STC_USERS)]

# --- UBND quận Lê Chân (Le Chan District People's Committee) ----------------------------------------
LC_FW = Firewall("FGT60F-UBND-LECHAN", "FGT60FTK21098813", LC, "198.51.100.2",
                 lan="internal", dmz="dmz", srv="internal5", wan="wan1", city="wan2")
LC_DVC = Host("lc-dvc-web01", "10.30.10.11", LC, "lc-dvc")
LC_DVC_PUBLIC = "198.51.100.20"
LC_DVC_DOMAIN = "dichvucong.lechan.haiphong.gov.vn"
LC_DC = Host("LC-DC01", "10.30.5.10", LC, "lc-ad")
LC_DOMAIN = "LECHAN"
LC_USERS = [
    ("mai.nt", "Nguyễn Thị Mai"), ("hung.tv", "Trần Văn Hùng"), ("thao.lp", "Lê Phương Thảo"),
    ("binh.nq", "Nguyễn Quốc Bình"), ("nga.dt", "Đinh Thị Nga"), ("quang.pv", "Phạm Văn Quang"),
    ("huyen.bt", "Bùi Thanh Huyền"), ("tam.nh", "Nguyễn Hữu Tâm"), ("oanh.vt", "Vũ Thị Oanh"),
    ("duc.lm", "Lê Minh Đức"), ("van.ht", "Hoàng Thị Vân"), ("kien.tt", "Trần Trung Kiên"),
    ("loan.pt", "Phạm Thị Loan"), ("thang.nd", "Nguyễn Đức Thắng"), ("my.lt", "Lại Trà My"),
    ("an.dv", "Đỗ Văn An"), ("chi.nk", "Nguyễn Kim Chi"),
]
LC_PCS = [Host(f"LC-PC-{i + 1:03d}", f"10.30.20.{41 + i}", LC, "lc-workstations", u, n)
          for i, (u, n) in enumerate(LC_USERS)]
LC_VICTIM = next(h for h in LC_PCS if h.user == "mai.nt")
LC_HELPDESK = "hung.tv"
"""Helpdesk account (Account Operators) whose password the spray finds."""

# --- City data centre ---------------------------------------------------------------------------------
CITY_PROXY_IP = "10.0.0.10"
CITY_PROXY_PORT = 3128

# --- Attacker infrastructure (public-looking addresses; strings only) -----------------------------------
ATTACKER_IP = "185.224.128.57"
"""Scans, attacks the portal and brute-forces its SSH."""
EXFIL_IP = "45.137.21.9"
"""Receives the data taken from the finance database; also the Linux implant's C2."""
PHISH_DOMAIN = "congvan-haiphong.info"
PHISH_IP = "45.147.230.18"
"""Hosts the phishing page, the malicious document and the payloads (IP-literal URLs)."""
C2_DOMAIN = "sync.officecdn-update.com"
C2_IP = "45.61.136.204"

ALL_HOSTS: list[Host] = [STC_PORTAL, STC_DB, STC_DNS, STC_MONITOR, STC_ADMIN_PC, *STC_PCS, LC_DVC, LC_DC, *LC_PCS]


def by_ip() -> dict[str, Host]:
    out = {h.ip: h for h in ALL_HOSTS}
    out[STC_PORTAL_PUBLIC] = STC_PORTAL
    out[LC_DVC_PUBLIC] = LC_DVC
    return out
