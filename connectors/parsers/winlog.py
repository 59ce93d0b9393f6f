"""``winlog`` (and ``evtx``): Windows events as JSON, mapped to ECS like Winlogbeat.

Input shapes (see :mod:`._srv_winevent`): Winlogbeat/Elastic Agent JSON, NXLog
JSON, ``evtx``/``evtx_dump`` JSON (also what :mod:`connectors.evtx_reader`
yields), Wazuh JSON, and the legacy OSSEC ``WinEvtLog:`` text line.

Output keeps ``winlog.channel``, ``winlog.event_id`` (a string),
``winlog.provider_name``, ``winlog.event_data.<Name>`` exactly as Windows wrote
the names (the Sigma engine maps ``Image``, ``CommandLine``, ``TargetObject``...
onto them), and adds ECS: ``event.code``/``category``/``type``/``action``/``outcome``,
``process.*``, ``user.*``, ``source.*``/``destination.*``, ``file.*``,
``registry.*``, ``dns.*``, ``service.*`` for the Security, System and Sysmon
events SOC rules use most.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from soc import ecs

from . import _srv_ecs, _srv_winevent
from ._srv_http import ip_or_none, set_address
from .base import ParseContext, ParseError
from .syslog_header import iso, parse_iso

NAME = "winlog"

_LEVELS = {"0": "information", "1": "critical", "2": "error", "3": "warning", "4": "information",
           "5": "verbose"}
_LOGON_TYPES = {"0": "System", "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service", "7": "Unlock",
                "8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive", "11": "CachedInteractive",
                "12": "CachedRemoteInteractive", "13": "CachedUnlock"}
_PROTO = {"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp"}
_EMPTY = ("", "-", "--", "%%1793", "NULL", "(null)")
_HASH_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512",
               "IMPHASH": "imphash"}
_HIVES = {"HKLM": "HKLM", "HKEY_LOCAL_MACHINE": "HKLM", "HKU": "HKU", "HKEY_USERS": "HKU", "HKCU": "HKCU",
          "HKEY_CURRENT_USER": "HKCU", "HKCR": "HKCR", "HKEY_CLASSES_ROOT": "HKCR", "HKCC": "HKCC",
          "HKEY_CURRENT_CONFIG": "HKCC", "\\REGISTRY\\MACHINE": "HKLM", "\\REGISTRY\\USER": "HKU"}

#: Legacy OSSEC/Wazuh agent text: ``YYYY Mon dd hh:mm:ss WinEvtLog: Channel: LEVEL(id): Provider: user: domain: host: msg``.
_WINEVTLOG = re.compile(
    r"(?P<ts>\d{4} [A-Za-z]{3} \d{1,2} \d{2}:\d{2}:\d{2}) WinEvtLog: (?P<channel>[^:]+): (?P<level>[A-Z_]+)\((?P<id>\d+)\): "
    r"(?P<provider>[^:]+): (?P<user>[^:]*): (?P<domain>[^:]*): (?P<host>[^:\s]*): (?P<msg>.*)$",
    re.S,
)
_WINEVTLOG_KV = re.compile(r"(?:^|\s{2})([A-Za-z][A-Za-z0-9 ]{0,40}?): (.*?)(?=\s{2}[A-Za-z][A-Za-z0-9 ]{0,40}?: |$)", re.S)


def sniff(line: str) -> bool:
    s = line.lstrip()[:4096]
    if s.startswith("{"):
        return ('"winlog"' in s or '"EventID"' in s or '"Event"' in s or '"win"' in s) and (
            '"event_id"' in s or '"EventID"' in s or '"eventID"' in s)
    return "WinEvtLog: " in s[:64]


def _dataset(channel: str) -> str:
    c = channel.lower()
    known = {"security": "windows.security", "system": "windows.system", "application": "windows.application",
             "microsoft-windows-sysmon/operational": "windows.sysmon_operational",
             "microsoft-windows-powershell/operational": "windows.powershell_operational",
             "windows powershell": "windows.powershell",
             "forwardedevents": "windows.forwarded"}
    if c in known:
        return known[c]
    norm = re.sub(r"[^a-z0-9]+", "_", c).strip("_")
    return f"windows.{norm}" if norm else "windows.unknown"


def _basename(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _num(v: str | None) -> int | None:
    if not v:
        return None
    v = v.strip()
    try:
        if v.lower().startswith("0x"):
            return int(v, 16)
        if v.isdigit() and len(v) <= 19:
            return int(v)
    except ValueError:
        return None
    return None


def _val(ed: dict[str, str], name: str) -> str | None:
    v = ed.get(name)
    if v is None:
        return None
    v = v.strip()
    return None if v in _EMPTY else v


def _process(doc: dict[str, Any], prefix: str, exe: str | None, pid: str | None = None,
             cmd: str | None = None, guid: str | None = None) -> None:
    if exe:
        ecs.put(doc, f"{prefix}.executable", exe)
        ecs.put(doc, f"{prefix}.name", _basename(exe))
    n = _num(pid)
    if n is not None:
        ecs.put(doc, f"{prefix}.pid", n)
    ecs.put(doc, f"{prefix}.command_line", cmd)
    ecs.put(doc, f"{prefix}.entity_id", guid)


def _user_domain(doc: dict[str, Any], prefix: str, value: str | None) -> None:
    """``DOMAIN\\user`` -> ``<prefix>.domain`` and ``<prefix>.name``."""
    if not value:
        return
    dom, sep, name = value.partition("\\")
    if sep:
        ecs.put(doc, f"{prefix}.domain", dom)
        ecs.put(doc, f"{prefix}.name", name)
    else:
        ecs.put(doc, f"{prefix}.name", value)


def _hashes(doc: dict[str, Any], prefix: str, text: str | None) -> None:
    if not text:
        return
    for part in text.split(","):
        k, eq, v = part.partition("=")
        name = _HASH_NAMES.get(k.strip().upper())
        if eq and name and v.strip():
            ecs.put(doc, f"{prefix}.hash.{name}", v.strip().lower())


def _file(doc: dict[str, Any], path: str | None) -> None:
    if not path:
        return
    ecs.put(doc, "file.path", path)
    norm = path.replace("/", "\\")
    d, _, name = norm.rpartition("\\")
    ecs.put(doc, "file.name", name)
    ecs.put(doc, "file.directory", d)
    if "." in name:
        ext = name.rsplit(".", 1)[1]
        if ext and len(ext) <= 16:
            ecs.put(doc, "file.extension", ext.lower())


def _registry(doc: dict[str, Any], target: str | None, details: str | None) -> None:
    if not target:
        return
    ecs.put(doc, "registry.path", target)
    head, _, rest = target.partition("\\")
    hive = _HIVES.get(head.upper())
    if hive is None and target.upper().startswith("\\REGISTRY\\"):
        parts = target.split("\\", 3)
        hive = _HIVES.get("\\REGISTRY\\" + parts[2].upper()) if len(parts) > 2 else None
        rest = parts[3] if len(parts) > 3 else ""
    if hive:
        ecs.put(doc, "registry.hive", hive)
        key, _, value = rest.rpartition("\\")
        ecs.put(doc, "registry.key", key or rest)
        if key:
            ecs.put(doc, "registry.value", value)
    if details:
        ecs.put(doc, "registry.data.strings", [details])
        if details.startswith("DWORD") or details.startswith("QWORD"):
            ecs.put(doc, "registry.data.type", "SZ_" + details[:5])


def _cat(doc: dict[str, Any], category: list[str], etype: list[str], action: str | None = None,
         outcome: str | None = None) -> None:
    ev = doc["event"]
    ev["category"] = category
    ev["type"] = etype
    if action:
        ev["action"] = action
    if outcome:
        ev["outcome"] = outcome


# --- Sysmon -----------------------------------------------------------------------------------

def _sysmon(doc: dict[str, Any], eid: str, ed: dict[str, str]) -> None:
    image = _val(ed, "Image")
    _process(doc, "process", image, ed.get("ProcessId"), _val(ed, "CommandLine"), _val(ed, "ProcessGuid"))
    _user_domain(doc, "user", _val(ed, "User"))
    if eid == "1":
        _cat(doc, ["process"], ["start"], "Process Create")
        ecs.put(doc, "process.working_directory", _val(ed, "CurrentDirectory"))
        _process(doc, "process.parent", _val(ed, "ParentImage"), ed.get("ParentProcessId"),
                 _val(ed, "ParentCommandLine"), _val(ed, "ParentProcessGuid"))
        _hashes(doc, "process", _val(ed, "Hashes") or _val(ed, "Hash"))
        ecs.put(doc, "process.pe.original_file_name", _val(ed, "OriginalFileName"))
        ecs.put(doc, "process.pe.description", _val(ed, "Description"))
        ecs.put(doc, "process.pe.product", _val(ed, "Product"))
        ecs.put(doc, "process.pe.company", _val(ed, "Company"))
        ecs.put(doc, "process.pe.file_version", _val(ed, "FileVersion"))
        ecs.put(doc, "winlog.logon.id", _val(ed, "LogonId"))
    elif eid == "2":
        _cat(doc, ["file"], ["change"], "File creation time changed")
        _file(doc, _val(ed, "TargetFilename"))
    elif eid == "3":
        _cat(doc, ["network"], ["connection", "start"], "Network connection detected")
        set_address(doc, "source", _val(ed, "SourceIp"))
        ecs.put(doc, "source.port", _num(ed.get("SourcePort")))
        ecs.put(doc, "source.domain", _val(ed, "SourceHostname"))
        set_address(doc, "destination", _val(ed, "DestinationIp"))
        ecs.put(doc, "destination.port", _num(ed.get("DestinationPort")))
        ecs.put(doc, "destination.domain", _val(ed, "DestinationHostname"))
        ecs.put(doc, "network.transport", (_val(ed, "Protocol") or "").lower() or None)
        ecs.put(doc, "network.protocol", (_val(ed, "DestinationPortName") or "").lower() or None)
        init = (_val(ed, "Initiated") or "").lower()
        if init in ("true", "false"):
            ecs.put(doc, "network.direction", "egress" if init == "true" else "ingress")
        ecs.put(doc, "network.type", "ipv6" if (_val(ed, "SourceIsIpv6") or "").lower() == "true" else "ipv4")
    elif eid == "5":
        _cat(doc, ["process"], ["end"], "Process terminated")
    elif eid == "6":
        _cat(doc, ["driver"], ["start"], "Driver loaded")
        _file(doc, _val(ed, "ImageLoaded"))
        _hashes(doc, "file", _val(ed, "Hashes"))
    elif eid == "7":
        _cat(doc, ["process"], ["change"], "Image loaded")
        _file(doc, _val(ed, "ImageLoaded"))
        ecs.put(doc, "dll.path", _val(ed, "ImageLoaded"))
        if _val(ed, "ImageLoaded"):
            ecs.put(doc, "dll.name", _basename(ed["ImageLoaded"]))
        _hashes(doc, "file", _val(ed, "Hashes"))
        ecs.put(doc, "file.pe.original_file_name", _val(ed, "OriginalFileName"))
    elif eid in ("8", "10"):
        _process(doc, "process", _val(ed, "SourceImage"), ed.get("SourceProcessId"),
                 guid=_val(ed, "SourceProcessGuid"))
        _user_domain(doc, "user", _val(ed, "SourceUser"))
        target = _val(ed, "TargetImage")
        if target:
            ecs.put(doc, "winlog.target_process.executable", target)
        _cat(doc, ["process"], ["change"] if eid == "8" else ["access"],
             "CreateRemoteThread detected" if eid == "8" else "Process accessed")
    elif eid == "11":
        _cat(doc, ["file"], ["creation"], "File created")
        _file(doc, _val(ed, "TargetFilename"))
    elif eid in ("12", "13", "14"):
        types = {"12": ["change"], "13": ["change"], "14": ["change"]}
        et = (_val(ed, "EventType") or "").lower()
        if eid == "12":
            types["12"] = ["deletion"] if et.startswith("delete") else ["creation"]
        _cat(doc, ["registry"], types[eid], {"12": "Registry object added or deleted",
                                             "13": "Registry value set", "14": "Registry object renamed"}[eid])
        _registry(doc, _val(ed, "TargetObject"), _val(ed, "Details"))
    elif eid == "15":
        _cat(doc, ["file"], ["creation"], "File stream created")
        _file(doc, _val(ed, "TargetFilename"))
        _hashes(doc, "file", _val(ed, "Hash"))
    elif eid in ("17", "18"):
        _cat(doc, ["file"], ["creation"] if eid == "17" else ["access"],
             "Pipe Created" if eid == "17" else "Pipe Connected")
        ecs.put(doc, "file.name", _val(ed, "PipeName"))
    elif eid in ("19", "20", "21"):
        _cat(doc, ["process"], ["creation"], "WmiEvent")
    elif eid == "22":
        _cat(doc, ["network"], ["connection", "protocol", "info"], "Dns query")
        name = _val(ed, "QueryName")
        ecs.put(doc, "dns.question.name", name)
        ecs.put(doc, "network.protocol", "dns")
        results = _val(ed, "QueryResults")
        if results:
            answers, ips = [], []
            for r in results.split(";"):
                r = r.strip()
                if not r:
                    continue
                if r.startswith("type:"):
                    parts = r.split(" ", 2)
                    if len(parts) == 3:
                        answers.append({"type": parts[1], "data": parts[2]})
                    continue
                ip = ip_or_none(r.removeprefix("::ffff:"))
                if ip:
                    ips.append(ip)
                    answers.append({"data": ip, "type": "AAAA" if ":" in ip else "A"})
            if answers:
                ecs.put(doc, "dns.answers", answers)
            if ips:
                ecs.put(doc, "dns.resolved_ip", ips)
    elif eid in ("23", "26"):
        _cat(doc, ["file"], ["deletion"], "File Delete archived" if eid == "23" else "File Delete logged")
        _file(doc, _val(ed, "TargetFilename"))
        _hashes(doc, "file", _val(ed, "Hashes"))
    elif eid == "25":
        _cat(doc, ["process"], ["change"], "Process Tampering")
    elif eid == "29":
        _cat(doc, ["file"], ["creation"], "File Executable Detected")
        _file(doc, _val(ed, "TargetFilename"))
        _hashes(doc, "file", _val(ed, "Hashes"))


# --- Security ---------------------------------------------------------------------------------

_IAM_USER = {"4720": ("added-user-account", ["user", "creation"]), "4722": ("enabled-user-account", ["user", "change"]),
             "4723": ("changed-password", ["user", "change"]), "4724": ("reset-password", ["user", "change"]),
             "4725": ("disabled-user-account", ["user", "change"]), "4726": ("deleted-user-account", ["user", "deletion"]),
             "4738": ("modified-user-account", ["user", "change"]), "4740": ("locked-out-user-account", ["user", "change"]),
             "4767": ("unlocked-user-account", ["user", "change"]), "4781": ("renamed-user-account", ["user", "change"]),
             "4794": ("set-dsrm-password", ["user", "change"])}
_IAM_GROUP = {"4727": ("added-group-account", ["group", "creation"]), "4731": ("added-group-account", ["group", "creation"]),
              "4754": ("added-group-account", ["group", "creation"]),
              "4728": ("added-member-to-group", ["group", "change"]), "4732": ("added-member-to-group", ["group", "change"]),
              "4756": ("added-member-to-group", ["group", "change"]),
              "4729": ("removed-member-from-group", ["group", "change"]),
              "4733": ("removed-member-from-group", ["group", "change"]),
              "4757": ("removed-member-from-group", ["group", "change"]),
              "4730": ("deleted-group-account", ["group", "deletion"]), "4734": ("deleted-group-account", ["group", "deletion"]),
              "4758": ("deleted-group-account", ["group", "deletion"]),
              "4735": ("modified-group-account", ["group", "change"]), "4737": ("modified-group-account", ["group", "change"]),
              "4755": ("modified-group-account", ["group", "change"]), "4799": ("group-membership-enumerated", ["group", "info"])}
_TASKS = {"4698": ("scheduled-task-created", ["creation"]), "4699": ("scheduled-task-deleted", ["deletion"]),
          "4700": ("scheduled-task-enabled", ["change"]), "4701": ("scheduled-task-disabled", ["change"]),
          "4702": ("scheduled-task-updated", ["change"])}
_CN = re.compile(r"CN=((?:[^,\\]|\\.)+)")


def _subject(doc: dict[str, Any], ed: dict[str, str]) -> None:
    ecs.put(doc, "user.name", _val(ed, "SubjectUserName"))
    ecs.put(doc, "user.domain", _val(ed, "SubjectDomainName"))
    ecs.put(doc, "user.id", _val(ed, "SubjectUserSid"))


def _logon(doc: dict[str, Any], ed: dict[str, str]) -> None:
    ecs.put(doc, "user.name", _val(ed, "TargetUserName"))
    ecs.put(doc, "user.domain", _val(ed, "TargetDomainName"))
    ecs.put(doc, "user.id", _val(ed, "TargetUserSid"))
    ip = _val(ed, "IpAddress")
    if ip:
        set_address(doc, "source", ip.removeprefix("::ffff:"))
    port = _num(_val(ed, "IpPort"))
    if port:
        ecs.put(doc, "source.port", port)
    ws = _val(ed, "WorkstationName")
    if ws:
        ecs.put(doc, "source.domain", ws)
    lt = _val(ed, "LogonType")
    if lt:
        ecs.put(doc, "winlog.logon.type", _LOGON_TYPES.get(lt, lt))
    ecs.put(doc, "winlog.logon.id", _val(ed, "TargetLogonId"))
    _process(doc, "process", _val(ed, "ProcessName"), _val(ed, "ProcessId"))


def _security(doc: dict[str, Any], eid: str, ed: dict[str, str], ud: dict[str, Any]) -> None:
    if eid in ("4624", "4625"):
        _logon(doc, ed)
        if eid == "4624":
            _cat(doc, ["authentication"], ["start"], "logged-in", "success")
        else:
            _cat(doc, ["authentication"], ["start"], "logon-failed", "failure")
            ecs.put(doc, "winlog.logon.failure.status", _val(ed, "Status"))
            ecs.put(doc, "winlog.logon.failure.sub_status", _val(ed, "SubStatus"))
            ecs.put(doc, "winlog.logon.failure.reason", _val(ed, "FailureReason"))
    elif eid in ("4634", "4647"):
        ecs.put(doc, "user.name", _val(ed, "TargetUserName"))
        ecs.put(doc, "user.domain", _val(ed, "TargetDomainName"))
        ecs.put(doc, "user.id", _val(ed, "TargetUserSid"))
        ecs.put(doc, "winlog.logon.id", _val(ed, "TargetLogonId"))
        lt = _val(ed, "LogonType")
        if lt:
            ecs.put(doc, "winlog.logon.type", _LOGON_TYPES.get(lt, lt))
        _cat(doc, ["authentication"], ["end"], "logged-out", "success")
    elif eid == "4648":
        _subject(doc, ed)
        ecs.put(doc, "user.effective.name", _val(ed, "TargetUserName"))
        ecs.put(doc, "user.effective.domain", _val(ed, "TargetDomainName"))
        ip = _val(ed, "IpAddress")
        if ip:
            set_address(doc, "source", ip.removeprefix("::ffff:"))
        ecs.put(doc, "source.port", _num(_val(ed, "IpPort")) or None)
        ecs.put(doc, "destination.domain", _val(ed, "TargetServerName"))
        _process(doc, "process", _val(ed, "ProcessName"), _val(ed, "ProcessId"))
        _cat(doc, ["authentication"], ["start"], "logged-in-explicit", "success")
    elif eid == "4672":
        _subject(doc, ed)
        ecs.put(doc, "winlog.logon.id", _val(ed, "SubjectLogonId"))
        _cat(doc, ["iam"], ["admin"], "logged-in-special", "success")
    elif eid in ("4688", "4689"):
        _subject(doc, ed)
        if eid == "4688":
            _process(doc, "process", _val(ed, "NewProcessName"), _val(ed, "NewProcessId"), _val(ed, "CommandLine"))
            _process(doc, "process.parent", _val(ed, "ParentProcessName"), _val(ed, "ProcessId"))
            if _val(ed, "TargetUserName"):
                ecs.put(doc, "user.effective.name", _val(ed, "TargetUserName"))
                ecs.put(doc, "user.effective.domain", _val(ed, "TargetDomainName"))
            _cat(doc, ["process"], ["start"], "created-process", "success")
        else:
            _process(doc, "process", _val(ed, "ProcessName"), _val(ed, "ProcessId"))
            _cat(doc, ["process"], ["end"], "exited-process", "success")
    elif eid in _IAM_USER:
        action, etype = _IAM_USER[eid]
        _subject(doc, ed)
        ecs.put(doc, "user.target.name", _val(ed, "TargetUserName"))
        ecs.put(doc, "user.target.domain", _val(ed, "TargetDomainName"))
        ecs.put(doc, "user.target.id", _val(ed, "TargetSid"))
        _cat(doc, ["iam"], etype, action, "success")
    elif eid in _IAM_GROUP:
        action, etype = _IAM_GROUP[eid]
        _subject(doc, ed)
        ecs.put(doc, "group.name", _val(ed, "TargetUserName"))
        ecs.put(doc, "group.domain", _val(ed, "TargetDomainName"))
        ecs.put(doc, "group.id", _val(ed, "TargetSid"))
        member = _val(ed, "MemberName")
        if member:
            m = _CN.search(member)
            ecs.put(doc, "user.target.name", m.group(1) if m else member)
        ecs.put(doc, "user.target.id", _val(ed, "MemberSid"))
        _cat(doc, ["iam"], etype, action, "success")
    elif eid in ("4768", "4769", "4770", "4771", "4776"):
        ecs.put(doc, "user.name", _val(ed, "TargetUserName"))
        ecs.put(doc, "user.domain", _val(ed, "TargetDomainName"))
        ip = _val(ed, "IpAddress")
        if ip:
            set_address(doc, "source", ip.removeprefix("::ffff:"))
        ecs.put(doc, "source.port", _num(_val(ed, "IpPort")) or None)
        ecs.put(doc, "source.domain", _val(ed, "Workstation"))
        ecs.put(doc, "service.name", _val(ed, "ServiceName"))
        status = (_val(ed, "Status") or _val(ed, "FailureCode") or "0x0").lower()
        outcome = "success" if status in ("0x0", "0") else "failure"
        action = {"4768": "kerberos-authentication-ticket-requested", "4769": "kerberos-service-ticket-requested",
                  "4770": "kerberos-service-ticket-renewed", "4771": "kerberos-preauth-failed",
                  "4776": "credential-validated"}[eid]
        if eid == "4771":
            outcome = "failure"
        _cat(doc, ["authentication"], ["start"], action, outcome)
    elif eid == "1102":
        u = ud if ud else {}
        ecs.put(doc, "user.name", u.get("SubjectUserName"))
        ecs.put(doc, "user.domain", u.get("SubjectDomainName"))
        ecs.put(doc, "user.id", u.get("SubjectUserSid"))
        _cat(doc, ["iam"], ["admin", "change"], "audit-log-cleared", "success")
    elif eid == "4697":
        _subject(doc, ed)
        ecs.put(doc, "service.name", _val(ed, "ServiceName"))
        ecs.put(doc, "service.type", _val(ed, "ServiceType"))
        ecs.put(doc, "file.path", _val(ed, "ServiceFileName"))
        _cat(doc, ["iam", "configuration"], ["admin", "change"], "service-installed", "success")
    elif eid in _TASKS:
        action, etype = _TASKS[eid]
        _subject(doc, ed)
        ecs.put(doc, "winlog.scheduled_task.name", _val(ed, "TaskName"))
        _cat(doc, ["iam", "configuration"], ["admin", *etype], action, "success")
    elif eid in ("5140", "5145"):
        _subject(doc, ed)
        ip = _val(ed, "IpAddress")
        if ip:
            set_address(doc, "source", ip.removeprefix("::ffff:"))
        ecs.put(doc, "source.port", _num(_val(ed, "IpPort")) or None)
        ecs.put(doc, "file.path", _val(ed, "RelativeTargetName"))
        _cat(doc, ["network", "file"], ["access"], "network-share-object-accessed", None)
    elif eid in ("4656", "4658", "4660", "4663"):
        _subject(doc, ed)
        ecs.put(doc, "file.path", _val(ed, "ObjectName"))
        _process(doc, "process", _val(ed, "ProcessName"), _val(ed, "ProcessId"))
        _cat(doc, ["file"], ["access"], "object-access", None)
    elif eid == "4657":
        _subject(doc, ed)
        obj, val = _val(ed, "ObjectName"), _val(ed, "ObjectValueName")
        if obj:
            _registry(doc, f"{obj}\\{val}" if val else obj, _val(ed, "NewValue"))
        _process(doc, "process", _val(ed, "ProcessName"), _val(ed, "ProcessId"))
        _cat(doc, ["registry"], ["change"], "registry-value-modified", "success")
    elif eid in ("5156", "5157", "5158"):
        _process(doc, "process", _val(ed, "Application"), _val(ed, "ProcessID") or _val(ed, "ProcessId"))
        set_address(doc, "source", _val(ed, "SourceAddress"))
        ecs.put(doc, "source.port", _num(_val(ed, "SourcePort")))
        set_address(doc, "destination", _val(ed, "DestAddress"))
        ecs.put(doc, "destination.port", _num(_val(ed, "DestPort")))
        proto = _val(ed, "Protocol")
        ecs.put(doc, "network.transport", _PROTO.get(proto or ""))
        direction = (_val(ed, "Direction") or "").lower()
        if direction in ("%%14592", "inbound"):
            ecs.put(doc, "network.direction", "ingress")
        elif direction in ("%%14593", "outbound"):
            ecs.put(doc, "network.direction", "egress")
        blocked = eid == "5157"
        _cat(doc, ["network"], ["connection", "denied" if blocked else "allowed"],
             "windows-firewall-connection", "failure" if blocked else "success")
    else:
        if "SubjectUserName" in ed:
            _subject(doc, ed)
        elif "TargetUserName" in ed:
            ecs.put(doc, "user.name", _val(ed, "TargetUserName"))
            ecs.put(doc, "user.domain", _val(ed, "TargetDomainName"))


def _system(doc: dict[str, Any], eid: str, ed: dict[str, str], ud: dict[str, Any], provider: str) -> None:
    if eid == "7045":
        ecs.put(doc, "service.name", _val(ed, "ServiceName"))
        ecs.put(doc, "service.type", _val(ed, "ServiceType"))
        image = _val(ed, "ImagePath")
        ecs.put(doc, "file.path", image)
        ecs.put(doc, "user.name", _val(ed, "AccountName"))
        _cat(doc, ["configuration"], ["creation"], "service-installed", "success")
    elif eid == "7036":
        ecs.put(doc, "service.name", _val(ed, "param1"))
        ecs.put(doc, "service.state", _val(ed, "param2"))
        _cat(doc, ["configuration"], ["change"], "service-state-changed", None)
    elif eid == "7040":
        ecs.put(doc, "service.name", _val(ed, "param1"))
        _cat(doc, ["configuration"], ["change"], "service-start-type-changed", None)
    elif eid == "104" and "eventlog" in provider.lower():
        u = ud if ud else {}
        ecs.put(doc, "user.name", u.get("SubjectUserName"))
        ecs.put(doc, "user.domain", u.get("SubjectDomainName"))
        ecs.put(doc, "winlog.cleared_channel", u.get("Channel"))
        _cat(doc, ["iam"], ["admin", "change"], "log-cleared", "success")


def _powershell(doc: dict[str, Any], eid: str, ed: dict[str, str]) -> None:
    if eid == "4104":
        ecs.put(doc, "powershell.file.script_block_id", _val(ed, "ScriptBlockId"))
        ecs.put(doc, "powershell.sequence", _num(_val(ed, "MessageNumber")))
        ecs.put(doc, "powershell.total", _num(_val(ed, "MessageTotal")))
        ecs.put(doc, "file.path", _val(ed, "Path"))
        _cat(doc, ["process"], ["info"], "script-block-logged")
    elif eid in ("4103", "800"):
        _cat(doc, ["process"], ["info"], "command-invoked")
    elif eid in ("400", "403"):
        _cat(doc, ["process"], ["start"] if eid == "400" else ["end"], "engine-state-changed")


def _defender(doc: dict[str, Any], eid: str, ed: dict[str, str]) -> None:
    if eid not in ("1116", "1117", "1118", "1119"):
        return
    path = _val(ed, "Path")
    if path:
        for part in path.split(";"):
            p = part.strip()
            if p.startswith("file:_"):
                _file(doc, p[6:])
                break
    proc = _val(ed, "Process Name")
    if proc and proc.lower() != "unknown":
        _process(doc, "process", proc)
    _user_domain(doc, "user", _val(ed, "Detection User"))
    ecs.put(doc, "rule.name", _val(ed, "Threat Name"))
    ecs.put(doc, "event.severity", _num(_val(ed, "Severity ID")))
    if eid == "1116":
        _cat(doc, ["malware"], ["info"], "malware-detected")
    else:
        ok = eid == "1117"
        _cat(doc, ["malware"], ["deletion"] if ok else ["info"], "malware-action-taken" if ok else
             "malware-action-failed", "success" if ok else "failure")


def _build(norm: dict[str, Any], line: str, ctx: ParseContext) -> dict[str, Any]:
    win: dict[str, Any] = norm["winlog"]
    eid = str(win.get("event_id") or "")
    channel = str(win.get("channel") or "")
    provider = str(win.get("provider_name") or "")
    ed: dict[str, str] = win.get("event_data") or {}
    ud: dict[str, Any] = win.get("user_data") or {}
    outcome = win.pop("outcome", None)
    doc: dict[str, Any] = {
        "event": {"original": line, "kind": "event", "module": "windows", "dataset": _dataset(channel)},
        "winlog": win,
        "soc": {"input": ctx.source},
    }
    if eid:
        doc["event"]["code"] = eid
    if provider:
        doc["event"]["provider"] = provider
    ts = norm.get("@timestamp")
    dt = parse_iso(str(ts), UTC if not norm.get("_naive_time") else ctx.tz) if ts else None
    doc["@timestamp"] = iso(dt if dt is not None else ctx.received)
    if win.get("computer_name"):
        ecs.put(doc, "host.name", win["computer_name"])
    lvl = win.get("level")
    if isinstance(lvl, str) and lvl in _LEVELS:
        ecs.put(doc, "log.level", _LEVELS[lvl])
    if norm.get("message"):
        doc["message"] = norm["message"]
    kw = str(win.get("keywords") or "").lower()
    if kw.startswith("0x8020") or "audit success" in kw:
        doc["event"]["outcome"] = "success"
    elif kw.startswith("0x8010") or "audit failure" in kw:
        doc["event"]["outcome"] = "failure"
    if outcome:
        doc["event"]["outcome"] = outcome
    ch = channel.lower()
    if ch == "microsoft-windows-sysmon/operational" or provider == "Microsoft-Windows-Sysmon":
        _sysmon(doc, eid, ed)
    elif ch == "security" or provider == "Microsoft-Windows-Security-Auditing":
        _security(doc, eid, ed, ud)
    elif ch == "system":
        _system(doc, eid, ed, ud, provider)
    elif ch in ("microsoft-windows-powershell/operational", "windows powershell"):
        _powershell(doc, eid, ed)
    elif ch == "microsoft-windows-windows defender/operational":
        _defender(doc, eid, ed)
    elif ed.get("Image") or ed.get("NewProcessName"):
        _process(doc, "process", _val(ed, "Image") or _val(ed, "NewProcessName"), ed.get("ProcessId"),
                 _val(ed, "CommandLine"))
    ident = ecs.get(doc, "winlog.user.identifier")
    if ident and not ecs.get(doc, "user.id"):
        ecs.put(doc, "user.id", ident)
    _srv_ecs.related(doc)
    return doc


def _legacy(line: str, m: re.Match[str], ctx: ParseContext) -> dict[str, Any]:
    try:
        ts = datetime.strptime(m.group("ts"), "%Y %b %d %H:%M:%S").replace(tzinfo=ctx.tz)
    except ValueError:
        raise ParseError(f"bad WinEvtLog time {m.group('ts')!r}") from None
    msg = m.group("msg")
    head, sep, rest = msg.partition(":  ")
    ed: dict[str, str] = {}
    if sep:
        for k, v in _WINEVTLOG_KV.findall("  " + rest):
            ed[k.strip().replace(" ", "")] = v.strip()
    win: dict[str, Any] = {"channel": m.group("channel"), "event_id": m.group("id"),
                           "provider_name": m.group("provider"), "computer_name": m.group("host")}
    if ed:
        win["event_data"] = ed
    user, domain = m.group("user").strip(), m.group("domain").strip()
    if user and user not in ("(no user)", "SYSTEM") or user == "SYSTEM":
        win["user"] = {"name": user, "domain": domain}
    lv = m.group("level")
    if lv in ("AUDIT_SUCCESS", "AUDIT_FAILURE"):
        win["outcome"] = "success" if lv == "AUDIT_SUCCESS" else "failure"
    norm = {"winlog": win, "@timestamp": iso(ts), "message": msg}
    doc = _build(norm, line, ctx)
    if user and user != "(no user)" and not ecs.get(doc, "user.name"):
        ecs.put(doc, "user.name", user)
        ecs.put(doc, "user.domain", domain if domain != "no domain" else None)
    return doc


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    s = line.strip()
    if not s.startswith("{"):
        m = _WINEVTLOG.match(s)
        if m:
            return _legacy(line, m, ctx)
        raise ParseError("not a Windows event: expected a JSON object (Winlogbeat, NXLog, evtx) or a WinEvtLog line")
    try:
        obj = json.loads(s)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ParseError(f"JSON value is a {type(obj).__name__}, expected an object")
    try:
        norm = _srv_winevent.normalise(obj)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ParseError(f"Windows event JSON has an unexpected shape: {exc}") from None
    if norm is None:
        raise ParseError("JSON object is not a Windows event (no winlog.event_id, Event.System, EventID or win.system)")
    doc = _build(norm, s, ctx)
    if isinstance(obj.get("winlog"), dict):
        # Winlogbeat/Agent document: keep what the shipper added that we do not derive
        # (agent, ecs, labels, tags, host.os/ip, event.created...), ours wins on conflicts.
        _merge_missing(doc, {k: v for k, v in obj.items() if k not in ("winlog", "message")})
    return doc


def _merge_missing(dst: dict[str, Any], src: dict[str, Any], depth: int = 0) -> None:
    for k, v in src.items():
        if k not in dst:
            dst[k] = v
        elif isinstance(dst[k], dict) and isinstance(v, dict) and depth < 8:
            _merge_missing(dst[k], v, depth + 1)
