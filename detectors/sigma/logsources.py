"""Sigma logsources and taxonomy fields, mapped onto this project's ECS events.

Two questions are answered here, both from tables (no per-rule code):

* which events a rule's ``logsource`` (product / category / service) applies to:
  :func:`event_keys` lists the logsource keys an event belongs to, and
  :func:`rule_key` normalises a rule's logsource or says why it is unsupported;
* where a Sigma field lives in our events: :func:`field_paths` gives the
  candidate dotted paths for a field under a logsource (the first present wins).

Windows events come from the winlog parser in Winlogbeat shape: EventData under
``winlog.event_data.<Name>``, ``winlog.channel``, ``winlog.event_id``,
``winlog.provider_name``. Linux, firewall, proxy and web server events are ECS
(Elastic's conventions, e.g. proxy ``c-uri`` -> ``url.original``).
A field that no table names is looked up as written, so rules may use ECS names
(``source.ip``) directly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping

LogsourceKey = tuple[str | None, str | None, str | None]  # (product, category, service)

SYSMON = "microsoft-windows-sysmon/operational"
PS_OP = "microsoft-windows-powershell/operational"
PS_CORE = "powershellcore/operational"
PS_CLASSIC = "windows powershell"

#: Windows category -> (channel, event ids) pairs that produce it.
WINDOWS_CATEGORIES: dict[str, list[tuple[str, frozenset[int]]]] = {
    "process_creation": [(SYSMON, frozenset({1})), ("security", frozenset({4688}))],
    "file_change": [(SYSMON, frozenset({2}))],
    "network_connection": [(SYSMON, frozenset({3}))],
    "sysmon_status": [(SYSMON, frozenset({4, 16}))],
    "process_termination": [(SYSMON, frozenset({5}))],
    "driver_load": [(SYSMON, frozenset({6}))],
    "image_load": [(SYSMON, frozenset({7}))],
    "create_remote_thread": [(SYSMON, frozenset({8}))],
    "raw_access_thread": [(SYSMON, frozenset({9}))],
    "process_access": [(SYSMON, frozenset({10}))],
    "file_event": [(SYSMON, frozenset({11}))],
    "registry_add": [(SYSMON, frozenset({12}))],
    "registry_delete": [(SYSMON, frozenset({12}))],
    "registry_set": [(SYSMON, frozenset({13}))],
    "registry_rename": [(SYSMON, frozenset({14}))],
    "registry_event": [(SYSMON, frozenset({12, 13, 14}))],
    "create_stream_hash": [(SYSMON, frozenset({15}))],
    "pipe_created": [(SYSMON, frozenset({17, 18}))],
    "wmi_event": [(SYSMON, frozenset({19, 20, 21}))],
    "dns_query": [(SYSMON, frozenset({22}))],
    "file_delete": [(SYSMON, frozenset({23, 26}))],
    "clipboard_change": [(SYSMON, frozenset({24}))],
    "process_tampering": [(SYSMON, frozenset({25}))],
    "file_block_executable": [(SYSMON, frozenset({27}))],
    "file_block_shredding": [(SYSMON, frozenset({28}))],
    "file_executable_detected": [(SYSMON, frozenset({29}))],
    "sysmon_error": [(SYSMON, frozenset({255}))],
    "ps_module": [(PS_OP, frozenset({4103})), (PS_CORE, frozenset({4103}))],
    "ps_script": [(PS_OP, frozenset({4104})), (PS_CORE, frozenset({4104}))],
    "ps_classic_start": [(PS_CLASSIC, frozenset({400}))],
    "ps_classic_provider_start": [(PS_CLASSIC, frozenset({600}))],
    "ps_classic_script": [(PS_CLASSIC, frozenset({800}))],
}


def _channels(v: Any) -> list[str]:
    return [c.lower() for c in ([v] if isinstance(v, str) else v)]


#: Windows service -> channels (lower case).
WINDOWS_SERVICES: dict[str, list[str]] = {k: _channels(v) for k, v in windows_logsource_mapping.items()}
WINDOWS_SERVICES["sysmon"] = [SYSMON]
for _svc, _ch in (("iis-configuration", "Microsoft-IIS-Configuration/Operational"),
                  ("smbclient-connectivity", "Microsoft-Windows-SmbClient/Connectivity"),
                  ("smbserver-connectivity", "Microsoft-Windows-SMBServer/Connectivity"),
                  ("ldap", "Microsoft-Windows-LDAP-Client/Debug")):
    WINDOWS_SERVICES.setdefault(_svc, [_ch.lower()])

_CHANNEL_SERVICES: dict[str, list[str]] = {}
for _svc, _chs in WINDOWS_SERVICES.items():
    for _ch in _chs:
        _CHANNEL_SERVICES.setdefault(_ch, []).append(_svc)
_CHANNEL_EID_CATEGORIES: dict[tuple[str, int], list[str]] = {}
for _cat, _pairs in WINDOWS_CATEGORIES.items():
    for _ch, _ids in _pairs:
        for _eid in _ids:
            _CHANNEL_EID_CATEGORIES.setdefault((_ch, _eid), []).append(_cat)

LINUX_SERVICES = {"sshd", "sudo", "auth", "cron", "auditd", "syslog", "clamav", "vsftpd", "guacamole"}
LINUX_CATEGORIES = {"process_creation", "network_connection", "file_event"}
#: Categories that are not tied to one product.
NETWORK_CATEGORIES = {"firewall", "proxy", "webserver", "dns"}
#: Services of vendor products (or without product): event.module / FortiGate log type.
VENDOR_SERVICES = {"event", "traffic", "utm", "apache", "nginx", "squid"}
#: event.module values -> product names a rule may use for them.
VENDOR_PRODUCTS: dict[str, tuple[str, ...]] = {
    "fortinet": ("fortigate", "fortios", "fortinet"),
    "fortigate": ("fortigate", "fortios", "fortinet"),
    "panw": ("paloalto", "panos"),
    "panos": ("paloalto", "panos"),
    "cisco": ("cisco_asa", "asa"),
    "cisco_asa": ("cisco_asa", "asa"),
    "pfsense": ("pfsense",),
    "iptables": ("iptables", "netfilter"),
    "squid": ("squid",),
    "nginx": ("nginx",),
    "apache": ("apache",),
}
VENDOR_PRODUCT_NAMES = {p for names in VENDOR_PRODUCTS.values() for p in names}
FIREWALL_MODULES = {"fortinet", "fortigate", "panw", "panos", "cisco", "cisco_asa", "pfsense", "iptables"}
PROXY_MODULES = {"squid"}
WEB_MODULES = {"nginx", "apache", "iis"}
LINUX_MODULES = {"auth", "system", "auditd", "syslog", "linux", "sshd", "sudo", "cron"}
LINUX_AUTH_PROCESSES = {"sshd", "sudo", "su", "login", "passwd", "useradd", "groupadd", "usermod", "userdel",
                        "chpasswd", "systemd-logind", "gpasswd", "chage", "unix_chkpwd", "polkitd", "pkexec"}


class UnsupportedLogsource(ValueError):
    pass


def _norm(v: Any) -> str | None:
    return str(v).strip().lower() if v not in (None, "") else None


def rule_key(product: Any, category: Any, service: Any) -> LogsourceKey:
    """The normalised key of a rule's logsource; raises :class:`UnsupportedLogsource` with the reason."""
    p, c, s = _norm(product), _norm(category), _norm(service)
    desc = "/".join(f"{k}={v}" for k, v in (("product", p), ("category", c), ("service", s)) if v)
    if p == "windows":
        if c is not None and c not in WINDOWS_CATEGORIES:
            raise UnsupportedLogsource(f"unsupported logsource: windows category {c!r} ({desc})")
        if s is not None and s not in WINDOWS_SERVICES:
            raise UnsupportedLogsource(f"unsupported logsource: windows service {s!r} ({desc})")
    elif p == "linux":
        if c is not None and c not in LINUX_CATEGORIES:
            raise UnsupportedLogsource(f"unsupported logsource: linux category {c!r} ({desc})")
        if s is not None and s not in LINUX_SERVICES:
            raise UnsupportedLogsource(f"unsupported logsource: linux service {s!r} ({desc})")
    elif p is None or p in VENDOR_PRODUCT_NAMES:
        if c is not None and c not in NETWORK_CATEGORIES:
            raise UnsupportedLogsource(f"unsupported logsource: category {c!r} ({desc or 'empty'})")
        if s is not None and s not in VENDOR_SERVICES:
            raise UnsupportedLogsource(f"unsupported logsource: service {s!r} ({desc})")
    else:
        raise UnsupportedLogsource(f"unsupported logsource: product {p!r} ({desc})")
    return (p, c, s)


_SPLIT: dict[str, list[str]] = {}


def _get(doc: dict[str, Any], path: str) -> Any:
    if path in doc:
        return doc[path]
    parts = _SPLIT.get(path)
    if parts is None:
        parts = _SPLIT[path] = path.split(".")
    cur: Any = doc
    for part in parts:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
        if cur is None:
            return None
    return cur


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _event_id(v: Any) -> int | None:
    if isinstance(v, int):
        return v
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return None


#: process names that decide a Linux event's services (any other name decides nothing)
_PNAME_SERVICES = LINUX_AUTH_PROCESSES | {"cron", "vsftpd"}

Signature = tuple[Any, ...]


def event_signature(event: dict[str, Any]) -> Signature:
    """Everything :func:`event_dimensions` depends on, as a small hashable tuple.

    Few distinct signatures exist in a stream (channel and event id, module and event type...), so the engine
    caches its per-logsource rule buckets by signature instead of recomputing the dimensions per event.
    """
    winlog = event.get("winlog")
    if isinstance(winlog, dict):
        # the raw pair repeats: lower() and int() once per distinct pair of plain values, exact types in the key
        # (1, True and 1.0 are equal keys)
        ch, eid = winlog.get("channel"), winlog.get("event_id")
        key = (ch, eid, ch.__class__, eid.__class__)
        sig = _WINDOWS_SIGNATURES.get(key) if ch.__class__ in _PLAIN and eid.__class__ in _PLAIN else None
        if sig is None:
            sig = _windows_signature(ch, eid)
            if ch.__class__ in _PLAIN and eid.__class__ in _PLAIN and len(_WINDOWS_SIGNATURES) < 4096:
                _WINDOWS_SIGNATURES[key] = sig
        return sig
    ev = event.get("event")
    ev = ev if isinstance(ev, dict) else {}
    if _SIG_DOTTED.isdisjoint(event):
        # no literal dotted key: the nested lookups of ``_get``, inlined (this runs for every non-Windows event)
        ftype = otype = os_type = os_family = pname = dname = None
        x = event.get("observer")
        if isinstance(x, dict):
            otype = x.get("type")
        x = event.get("host")
        if isinstance(x, dict):
            x = x.get("os")
            if isinstance(x, dict):
                os_type, os_family = x.get("type"), x.get("family")
        x = event.get("process")
        if isinstance(x, dict):
            pname = x.get("name")
        x = event.get("dns")
        if isinstance(x, dict):
            x = x.get("question")
            if isinstance(x, dict):
                dname = x.get("name")
        x = event.get("fortinet")
        if isinstance(x, dict):
            x = x.get("firewall")
            if isinstance(x, dict):
                ftype = x.get("type")
        raw = (ev.get("module"), ev.get("dataset"), _frozen(ev.get("category")), _frozen(ev.get("type")),
               otype, ftype, os_type, os_family, pname, dname is not None)
    else:
        raw = (ev.get("module"), ev.get("dataset"), _frozen(ev.get("category")), _frozen(ev.get("type")),
               _get(event, "observer.type"), _get(event, "fortinet.firewall.type"), _get(event, "host.os.type"),
               _get(event, "host.os.family"), _get(event, "process.name"),
               _get(event, "dns.question.name") is not None)
    try:
        # the raw values repeat: normalised once per distinct tuple (typed: 1 and True are not one key)
        return _other_signature(*raw)
    except TypeError:  # a value that cannot be hashed (a dict where a string belongs)
        return _other_signature.__wrapped__(*raw)


class _StrList(tuple):  # type: ignore[type-arg]
    """A list of strings from an event, hashable (a tuple value in the event stays a plain tuple)."""


#: the dotted paths :func:`event_signature` reads, as literal top-level keys (rare: then looked up by ``_get``)
_SIG_DOTTED = frozenset({"observer.type", "fortinet.firewall.type", "host.os.type", "host.os.family", "process.name",
                         "dns.question.name"})


def _frozen(v: Any) -> Any:
    """A list of strings as a :class:`_StrList` (hashable; unlike 1 and True, no two distinct strings are equal)."""
    if type(v) is list:
        if len(v) == 1:
            return _StrList(v) if type(v[0]) is str else v
        return _StrList(v) if all(type(x) is str for x in v) else v  # otherwise unhashable: not cached
    if isinstance(v, list):
        return _StrList(v) if all(type(x) is str for x in v) else v
    return v


#: types whose equality and hash are their value's: only these are cache keys (another type might compare equal to
#: a different value, or run code)
_PLAIN = frozenset({str, int, type(None)})


_WINDOWS_SIGNATURES: dict[tuple[Any, ...], Signature] = {}


def _windows_signature(ch: Any, eid: Any) -> Signature:
    """A Windows event's signature from its raw channel and event id."""
    if not isinstance(ch, str):
        return ("w", None, None)
    return ("w", ch.lower(), _event_id(eid))


@lru_cache(maxsize=4096, typed=True)
def _other_signature(module: Any, dataset: Any, category: Any, etype: Any, otype: Any, ftype: Any, os_type: Any,
                     os_family: Any, pname: Any, dns: bool) -> Signature:
    pname_l = pname.lower() if isinstance(pname, str) else None
    return ("o", _norm(module), isinstance(dataset, str) and dataset.strip().lower().endswith(".auth"),
            _lower_set(list(category) if type(category) is _StrList else category),
            _lower_set(list(etype) if type(etype) is _StrList else etype),
            _norm(otype), ftype.lower() if isinstance(ftype, str) else None,
            _norm(os_type) or _norm(os_family), pname_l if pname_l in _PNAME_SERVICES else None, dns)


def _lower_set(v: Any) -> frozenset[str]:
    if v is None:
        return frozenset()
    if isinstance(v, str):
        return frozenset((v.lower(),))
    return frozenset(str(c).lower() for c in _as_list(v))


@lru_cache(maxsize=4096)
def signature_dimensions(sig: Signature) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(products, categories, services) of events with signature ``sig``."""
    products: set[str] = set()
    cats: set[str] = set()
    svcs: set[str] = set()
    if sig[0] == "w":
        _, chl, eid = sig
        products.add("windows")
        if chl is not None:
            svcs.update(_CHANNEL_SERVICES.get(chl, ()))
            if eid is not None:
                cats.update(_CHANNEL_EID_CATEGORIES.get((chl, eid), ()))
        return frozenset(products), frozenset(cats), frozenset(svcs)
    _, module, auth_dataset, ecat, etype, otype, ftype, os_type, pname_l, has_dns = sig
    if module in VENDOR_PRODUCTS:
        products.update(VENDOR_PRODUCTS[module])
        if module in ("nginx", "apache", "squid"):
            svcs.add(module)
        if ftype is not None:
            svcs.add(ftype)
    if module in LINUX_MODULES or os_type == "linux":
        products.add("linux")
        svcs.add("syslog")
        if module == "auditd":
            svcs.add("auditd")
        if pname_l in ("sshd", "sudo", "cron", "vsftpd"):
            svcs.add(pname_l)
        if pname_l in LINUX_AUTH_PROCESSES or auth_dataset or module == "auth":
            svcs.add("auth")
        if "process" in ecat and "start" in etype:
            cats.add("process_creation")
        if "network" in ecat and ("connection" in etype or "start" in etype):
            cats.add("network_connection")
        if "file" in ecat and ("creation" in etype or "change" in etype):
            cats.add("file_event")
        return frozenset(products), frozenset(cats), frozenset(svcs)
    if module in PROXY_MODULES or otype == "proxy":
        cats.add("proxy")
    elif module in WEB_MODULES:
        cats.add("webserver")
    elif otype == "firewall" or module in FIREWALL_MODULES or "network" in ecat:
        cats.add("firewall")
    if has_dns:
        cats.add("dns")
    return frozenset(products), frozenset(cats), frozenset(svcs)


def event_dimensions(event: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """(products, categories, services) an event belongs to."""
    p, c, s = signature_dimensions(event_signature(event))
    return set(p), set(c), set(s)


def event_keys(event: dict[str, Any]) -> list[LogsourceKey]:
    """Every logsource key (with ``None`` wildcards) the event satisfies."""
    return keys_of(*event_dimensions(event))


def keys_of(products: set[str] | frozenset[str], cats: set[str] | frozenset[str],
            svcs: set[str] | frozenset[str]) -> list[LogsourceKey]:
    ps: list[str | None] = [None, *products]
    cs: list[str | None] = [None, *cats]
    ss: list[str | None] = [None, *svcs]
    return [(p, c, s) for p in ps for c in cs for s in ss]


# ---------------------------------------------------------------- field mapping

_WINDOWS_COMMON: dict[str, list[str]] = {
    "EventID": ["winlog.event_id", "EventID"],
    "Channel": ["winlog.channel", "Channel"],
    "Provider_Name": ["winlog.provider_name", "Provider_Name"],
    "Computer": ["winlog.computer_name", "host.name", "Computer"],
    "ComputerName": ["winlog.computer_name", "host.name", "ComputerName"],
    "EventRecordID": ["winlog.record_id", "EventRecordID"],
}
#: Security 4688 names for the Sysmon-style process_creation taxonomy (used when the Sysmon name is absent).
_WINDOWS_4688: dict[str, list[str]] = {
    "Image": ["winlog.event_data.Image", "winlog.event_data.NewProcessName"],
    "ParentImage": ["winlog.event_data.ParentImage", "winlog.event_data.ParentProcessName"],
    "LogonId": ["winlog.event_data.LogonId", "winlog.event_data.SubjectLogonId"],
    "IntegrityLevel": ["winlog.event_data.IntegrityLevel", "winlog.event_data.MandatoryLabel"],
}
_LINUX_PROCESS = {
    "Image": ["process.executable"], "CommandLine": ["process.command_line"],
    "ParentImage": ["process.parent.executable"], "ParentCommandLine": ["process.parent.command_line"],
    "User": ["user.name"], "CurrentDirectory": ["process.working_directory"],
    "ProcessId": ["process.pid"], "ParentProcessId": ["process.parent.pid"], "LogonId": ["process.user.id"],
}
_LINUX_NETWORK = {
    "Image": ["process.executable"], "DestinationIp": ["destination.ip"], "DestinationPort": ["destination.port"],
    "DestinationHostname": ["destination.domain"], "SourceIp": ["source.ip"], "SourcePort": ["source.port"],
    "User": ["user.name"], "Initiated": ["network.direction"],
}
_LINUX_FILE = {"Image": ["process.executable"], "TargetFilename": ["file.path"], "User": ["user.name"]}
#: Sigma's auditd rules name the raw record's keys; ``connectors/parsers/auditd.py`` keeps them under
#: ``auditd.log.*`` (Elastic's layout) and moves a few to ECS; ``auditd.data.*``/``message_type`` are Auditbeat's.
_AUDITD = {"type": ["auditd.log.record_type", "auditd.message_type", "auditd.data.type", "type"],
           "exe": ["process.executable", "auditd.log.exe", "auditd.data.exe"],
           "comm": ["process.name", "auditd.log.comm", "auditd.data.comm"],
           "key": ["auditd.log.key", "auditd.data.key", "tags"],
           "name": ["file.path", "auditd.log.name", "auditd.data.name"],
           "SYSCALL": ["auditd.log.SYSCALL", "auditd.log.syscall", "auditd.data.syscall", "SYSCALL"],
           "syscall": ["auditd.log.syscall", "auditd.data.syscall", "syscall"]}
_PROXY = {
    "c-uri": ["url.original"], "cs-uri": ["url.original"], "c-uri-query": ["url.query"],
    "c-uri-stem": ["url.path"], "c-uri-extension": ["url.extension"], "c-useragent": ["user_agent.original"],
    "cs-host": ["url.domain", "destination.domain"], "r-dns": ["url.domain", "destination.domain"],
    "cs-method": ["http.request.method"], "sc-status": ["http.response.status_code"],
    "cs-referrer": ["http.request.referrer"], "cs-bytes": ["http.request.bytes"],
    "sc-bytes": ["http.response.bytes"], "src_ip": ["source.ip"], "c-ip": ["source.ip"],
    "dst_ip": ["destination.ip"], "r-ip": ["destination.ip"], "cs-version": ["http.version"],
    "cs-username": ["user.name"], "cs-cookie": ["http.request.cookie"],
}
_WEBSERVER = {
    "cs-uri-query": ["url.query"], "cs-uri-stem": ["url.path"], "cs-uri": ["url.original"],
    "c-uri": ["url.original"], "cs-method": ["http.request.method"], "sc-status": ["http.response.status_code"],
    "cs-user-agent": ["user_agent.original"], "cs-useragent": ["user_agent.original"],
    "c-useragent": ["user_agent.original"], "c-ip": ["source.ip"], "s-ip": ["destination.ip"],
    "cs-referer": ["http.request.referrer"], "cs-referrer": ["http.request.referrer"],
    "cs-username": ["user.name"], "cs-host": ["url.domain"], "cs-version": ["http.version"],
    "sc-bytes": ["http.response.bytes"], "cs-bytes": ["http.request.bytes"],
}
_FIREWALL = {
    "src_ip": ["source.ip"], "dst_ip": ["destination.ip"], "src_port": ["source.port"],
    "dst_port": ["destination.port"], "action": ["event.action"], "username": ["user.name"],
    "protocol": ["network.transport"], "src_host": ["source.domain"], "dst_host": ["destination.domain"],
}
_FORTIGATE = {
    "srcip": ["source.ip"], "dstip": ["destination.ip"], "srcport": ["source.port"], "dstport": ["destination.port"],
    "user": ["user.name", "source.user.name", "fortinet.firewall.user"], "action": ["fortinet.firewall.action", "event.action"],
    "msg": ["message"], "logdesc": ["rule.description"], "devname": ["observer.name"], "level": ["log.level"],
    "hostname": ["url.domain", "destination.domain"], "url": ["url.original", "url.path"],
    "attack": ["rule.name", "fortinet.firewall.attack"], "virus": ["rule.name", "fortinet.firewall.virus"],
    "catdesc": ["rule.category", "fortinet.firewall.catdesc"],
}
_DNS = {"query": ["dns.question.name"], "answer": ["dns.answers.data"], "record_type": ["dns.question.type"],
        "QueryName": ["dns.question.name"], "src_ip": ["source.ip"], "dst_ip": ["destination.ip"]}


def field_paths(key: LogsourceKey | None, field: str) -> list[str]:
    """Candidate dotted paths of Sigma ``field`` in events of logsource ``key`` (first present wins)."""
    if key is None:
        return [field]
    product, category, service = key
    table: dict[str, list[str]] | None = None
    if product == "windows":
        if field in _WINDOWS_COMMON:
            return _WINDOWS_COMMON[field]
        if category == "process_creation" and field in _WINDOWS_4688:
            return [*_WINDOWS_4688[field], field]
        if "." in field:
            return [field]
        # "~": EventData names written with spaces ("Source Name") as Sigma writes them ("SourceName")
        return [f"winlog.event_data.{field}", f"winlog.user_data.{field}", field, f"~winlog.event_data.{field}"]
    if product in ("fortigate", "fortios", "fortinet") and field in _FORTIGATE:
        return [*_FORTIGATE[field], field]
    if product == "linux":
        if service == "auditd":
            return [*_AUDITD.get(field, [f"auditd.log.{field}", f"auditd.data.{field}"]), field]
        table = {"process_creation": _LINUX_PROCESS, "network_connection": _LINUX_NETWORK,
                 "file_event": _LINUX_FILE}.get(category or "")
    elif category == "proxy":
        table = _PROXY
    elif category == "webserver":
        table = _WEBSERVER
    elif category == "firewall":
        table = _FIREWALL
    elif category == "dns":
        table = _DNS
    if table and field in table:
        return [*table[field], field]
    if product in ("fortigate", "fortios", "fortinet") and "." not in field:
        return [f"fortinet.firewall.{field}", field]
    return [field]


def all_mapped_fields() -> dict[str, dict[str, list[str]]]:
    """The mapping tables, for documentation and for building conversion pipelines."""
    return {"windows": {**_WINDOWS_COMMON}, "windows/process_creation(4688)": _WINDOWS_4688,
            "linux/process_creation": _LINUX_PROCESS, "linux/network_connection": _LINUX_NETWORK,
            "linux/file_event": _LINUX_FILE, "linux/auditd": _AUDITD, "proxy": _PROXY,
            "webserver": _WEBSERVER, "firewall": _FIREWALL, "dns": _DNS}
