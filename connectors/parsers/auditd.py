"""``auditd``: raw Linux audit records (``/var/log/audit/audit.log`` or over syslog).

``[node=N ]type=T msg=audit(EPOCH:SERIAL): k=v ... [msg='k=v ...'] [\\x1d ENRICHED=...]``.
Every key is kept under ``auditd.log.<key>`` (hex-encoded values such as
``proctitle``, ``cmd``, ``data``, ``acct`` decoded) and mapped like Elastic's
auditd integration: ``user.*`` ids, ``process.*``, ``source.*`` from
``addr``/``laddr``, ``event.action``/``category``/``type`` per record type,
``event.outcome`` from ``res``/``success``. Records are not coalesced: one line
is one event, linked to its siblings by ``auditd.log.sequence``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from soc import ecs

from . import _srv_ecs
from ._srv_http import set_address
from .base import ParseContext, ParseError
from .syslog_header import iso, split

NAME = "auditd"

_HEAD = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_\[\]]+) msg=audit\((?P<ts>\d{1,12}(?:\.\d{1,9})?):"
    r"(?P<seq>\d{1,20})\):\s*(?P<body>.*)$",
    re.S,
)
_HEAD_NOTS = re.compile(r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_\[\]]+) msg=(?!audit\()(?P<body>.*)$", re.S)
#: ``key=value``; an unquoted value may hold spaces up to the next ``key=`` (``op=adding group to /etc/group``).
_KV = re.compile(
    r"""([A-Za-z0-9_\-]{1,64})=("[^"]*"|'[^']*'|\{[^}]*\}|\([^)]*\)|[^\s'"{}]*(?: +(?![A-Za-z0-9_\-]+=)[^\s'"{}=]+)*)""")
_OLD_NEW = re.compile(r"\b(old|new) (auid|ses)=")
_HEX = re.compile(r"(?:[0-9A-F]{2})+$")

#: Fields auditd writes hex-encoded when they contain spaces or unusual bytes.
_HEX_FIELDS = frozenset({"proctitle", "cmd", "data", "acct", "exe", "comm", "name", "cwd", "path", "old-acct",
                         "new-acct", "sw", "root_dir", "vm", "key", "ocomm", "old_name", "new_name"})
_INT_FIELDS = frozenset({"lport", "rport", "ksize", "entries", "src_prefixlen", "dst_prefixlen"})

#: record type -> (action, category, type) following Elastic's auditd integration.
_TYPES: dict[str, tuple[str, list[str] | None, list[str] | None]] = {
    "USER_LOGIN": ("logged-in", ["authentication"], ["start"]),
    "USER_LOGOUT": ("logged-out", ["authentication"], ["end"]),
    "USER_AUTH": ("authenticated", ["authentication"], ["info"]),
    "USER_ACCT": ("was-authorized", ["authentication"], ["info"]),
    "USER_START": ("started-session", ["session"], ["start"]),
    "USER_END": ("ended-session", ["session"], ["end"]),
    "CRED_ACQ": ("acquired-credentials", ["authentication"], ["info"]),
    "CRED_DISP": ("disposed-credentials", ["authentication"], ["info"]),
    "CRED_REFR": ("refreshed-credentials", ["authentication"], ["info"]),
    "USER_CMD": ("ran-command", ["process"], ["start"]),
    "USER_CHAUTHTOK": ("changed-password", ["iam"], ["user", "change"]),
    "USER_ERR": ("error", ["authentication"], ["info"]),
    "USER_ROLE_CHANGE": ("changed-role-to", None, None),
    "LOGIN": ("changed-login-id-to", ["authentication"], ["start"]),
    "ADD_USER": ("added-user-account", ["iam"], ["user", "creation"]),
    "DEL_USER": ("deleted-user-account", ["iam"], ["user", "deletion"]),
    "USER_MGMT": ("modified-user-account", ["iam"], ["user", "change"]),
    "ADD_GROUP": ("added-group-account-to", ["iam"], ["group", "creation"]),
    "DEL_GROUP": ("deleted-group-account-from", ["iam"], ["group", "deletion"]),
    "GRP_MGMT": ("modified-group-account", ["iam"], ["group", "change"]),
    "ACCT_LOCK": ("locked-account", ["iam"], ["user", "change"]),
    "ACCT_UNLOCK": ("unlocked-account", ["iam"], ["user", "change"]),
    "CHUSER_ID": ("changed-user-id", ["iam"], ["user", "change"]),
    "CHGRP_ID": ("changed-group", ["iam"], ["group", "change"]),
    "SYSTEM_BOOT": ("booted-system", ["host"], ["info"]),
    "SYSTEM_SHUTDOWN": ("shutdown-system", ["host"], ["info"]),
    "SYSTEM_RUNLEVEL": ("changed-to-runlevel", ["host"], ["change"]),
    "SERVICE_START": ("started-service", ["process"], ["start"]),
    "SERVICE_STOP": ("stopped-service", ["process"], ["stop"]),
    "DAEMON_START": ("started-audit", ["process"], ["start"]),
    "DAEMON_END": ("shutdown-audit", ["process"], ["stop"]),
    "DAEMON_ABORT": ("aborted-audit-startup", ["process"], ["stop"]),
    "DAEMON_CONFIG": ("configured-audit", ["process", "configuration"], ["info"]),
    "DAEMON_RESUME": ("resumed-audit-logging", ["process"], ["change"]),
    "DAEMON_ROTATE": ("rotated-audit-logs", ["process"], ["change"]),
    "CONFIG_CHANGE": ("changed-audit-configuration", ["process", "configuration"], ["change"]),
    "USYS_CONFIG": ("changed-configuration", ["configuration"], ["change"]),
    "NETFILTER_CFG": ("loaded-firewall-rule-to", ["configuration"], ["change"]),
    "KERN_MODULE": ("loaded-kernel-module", ["driver"], ["start"]),
    "SOFTWARE_UPDATE": ("package-updated", ["package"], ["info"]),
    "CRYPTO_SESSION": ("started-crypto-session", ["process"], ["info"]),
    "CRYPTO_KEY_USER": ("negotiated-crypto-key", ["process"], ["info"]),
    "VIRT_CONTROL": ("issued-vm-control", ["host"], ["creation"]),
    "VIRT_MACHINE_ID": ("assigned-vm-id", ["host"], ["creation"]),
    "VIRT_RESOURCE": ("assigned-vm-resource", ["host"], ["creation"]),
    "TTY": ("typed", None, None),
    "USER_TTY": ("typed", None, None),
    "AVC": ("violated-selinux-policy", ["intrusion_detection"], ["denied"]),
    "SELINUX_ERR": ("caused-mac-policy-error", ["intrusion_detection"], ["info"]),
    "MAC_STATUS": ("changed-selinux-enforcement", ["configuration"], ["change"]),
    "ANOM_PROMISCUOUS": ("changed-promiscuous-mode-on-device", ["network"], ["info"]),
    "ANOM_ABEND": ("crashed-program", ["process"], ["end"]),
    "ANOM_EXEC": ("attempted-execution-of-forbidden-program", ["process"], ["denied"]),
    "ANOM_LOGIN_FAILURES": ("failed-log-in-too-many-times-to", ["authentication"], ["info"]),
    "ANOM_LOGIN_LOCATION": ("attempted-log-in-from-unusual-place-to", ["authentication"], ["info"]),
    "ANOM_LOGIN_SESSIONS": ("opened-too-many-sessions-to", ["authentication"], ["info"]),
    "ANOM_LOGIN_TIME": ("attempted-log-in-during-unusual-hour-to", ["authentication"], ["info"]),
    "ANOM_ROOT_TRANS": ("refused-root-transition", ["iam"], ["info"]),
}
#: Records written by user-space tools on behalf of an account: the actor is ``auid``.
_USER_RECORDS = frozenset({
    "USER_LOGIN", "USER_LOGOUT", "USER_AUTH", "USER_ACCT", "USER_START", "USER_END", "CRED_ACQ", "CRED_DISP",
    "CRED_REFR", "USER_CHAUTHTOK", "ADD_USER", "DEL_USER", "USER_MGMT", "ADD_GROUP", "DEL_GROUP", "GRP_MGMT",
    "ACCT_LOCK", "ACCT_UNLOCK", "USER_ERR",
})
_ID_FIELDS = {"auid": "user.audit.id", "euid": "user.effective.id", "suid": "user.saved.id",
              "fsuid": "user.filesystem.id", "gid": "user.group.id", "egid": "user.effective.group.id",
              "sgid": "user.saved.group.id", "fsgid": "user.filesystem.group.id", "ouid": "user.owner.id",
              "ogid": "user.owner.group.id"}
_UNSET = ("4294967295", "-1")


def sniff(line: str) -> bool:
    s = line[:200]
    return "type=" in s and "msg=audit(" in s


def _caret(data: bytes) -> str:
    out = []
    for b in data:
        if b < 32:
            out.append("^" + chr(b + 64))
        elif b == 127:
            out.append("^?")
        else:
            out.append(chr(b))
    return "".join(out)


def _decode_hex(key: str, raw: str) -> str:
    data = bytes.fromhex(raw)
    if key == "data":
        return _caret(data)
    if key == "proctitle":
        data = data.replace(b"\x00", b" ")
    return data.decode("utf-8", errors="replace").rstrip()


def _value(key: str, raw: str, unquoted_hex: set[str]) -> str:
    if raw[:1] in ('"', "'") and raw[-1:] == raw[:1] and len(raw) >= 2:
        return raw[1:-1]
    if len(raw) >= 2 and _HEX.match(raw):
        if key in _HEX_FIELDS:
            return _decode_hex(key, raw)
        unquoted_hex.add(key)  # EXECVE arguments: decoded there, syscall registers stay as they are
    return raw


def _kv(text: str, out: dict[str, str], unquoted_hex: set[str], repeats: dict[str, list[str]] | None = None) -> None:
    """Collect ``key=value`` pairs into ``out`` (first value wins, for the ECS mapping); a key written
    twice (``uid=0 ... msg='pam_tally2 uid=1004'``) also gets every value, in order, in ``repeats``."""
    for k, raw in _KV.findall(_OLD_NEW.sub(r"\1_\2=", text)):
        if k == "msg" and raw[:1] == "'":
            _kv(raw[1:-1], out, unquoted_hex, repeats)
            continue
        if raw.startswith("{"):
            _kv(raw[1:-1], out, unquoted_hex, repeats)
            continue
        v = _value(k, raw, unquoted_hex)
        if k not in out:
            out[k] = v
        elif repeats is not None:
            repeats.setdefault(k, [out[k]]).append(v)


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    line = line.rstrip("\r\n")
    body_line = line
    m = _HEAD.match(body_line)
    doc: dict[str, Any] = {
        "event": {"original": line, "kind": "event", "dataset": "auditd.log", "module": "auditd"},
        "soc": {"input": ctx.source},
    }
    if not m:
        sl = split(line, ctx)
        if sl.message is not line:
            m = _HEAD.match(sl.message)
            if m:
                sl.to_ecs(doc)
                doc.pop("@timestamp", None)
                ecs.put(doc, "host.name", sl.hostname)
    nots = None
    if not m:
        nots = _HEAD_NOTS.match(line)
        if not nots:
            raise ParseError("not an audit record: expected 'type=... msg=audit(time:serial): ...'")
    rtype = (m or nots).group("type")  # type: ignore[union-attr]
    node = (m or nots).group("node")  # type: ignore[union-attr]
    fields: dict[str, str] = {}
    if m:
        try:
            ts = datetime.fromtimestamp(float(m.group("ts")), UTC)
        except (ValueError, OverflowError, OSError):
            raise ParseError(f"bad audit timestamp {m.group('ts')!r}") from None
        doc["@timestamp"] = iso(ts)
        ecs.put(doc, "auditd.log.sequence", int(m.group("seq")[:19]))
        body = m.group("body")
    else:
        doc["@timestamp"] = iso(ctx.received)
        body = ""
    siblings: list[tuple[str, str]] = []
    if "\n" in body:
        body, siblings = _split_records(body)
    raw_part, _, enriched = body.partition("\x1d")
    unquoted_hex: set[str] = set()
    repeats: dict[str, list[str]] = {}
    _kv(raw_part, fields, unquoted_hex, repeats)
    enriched_fields: dict[str, str] = {}
    if enriched:
        _kv(enriched, enriched_fields, set())
    if rtype == "EXECVE":
        _decode_args(fields, unquoted_hex)
    ecs.put(doc, "auditd.log.node", node)
    if node:
        ecs.put(doc, "host.name", node)
    _map(doc, rtype, fields, enriched_fields, repeats)
    if siblings:
        _merge_siblings(doc, rtype, siblings)
    _srv_ecs.related(doc)
    return doc


def _split_records(body: str) -> tuple[str, list[tuple[str, str]]]:
    """One message holding several records of one event (``SYSCALL``, ``EXECVE``, ``CWD``, ``PATH``...,
    one per line, as Auditbeat and journald ship them): the first record's body and the others'
    ``(type, body)``. A line that is not a record continues the line before it."""
    first, *rest = body.split("\n")
    parts = [first]
    siblings: list[tuple[str, str]] = []
    for ln in rest:
        ln = ln.strip("\r")
        if not ln.strip():
            continue
        m = _HEAD.match(ln)
        if m:
            siblings.append((m.group("type"), m.group("body")))
        elif siblings:
            siblings[-1] = (siblings[-1][0], siblings[-1][1] + " " + ln)
        else:
            parts.append(ln)
    return " ".join(parts), siblings


def _decode_args(f: dict[str, str], unquoted_hex: set[str]) -> None:
    # EXECVE arguments with spaces or odd bytes are written as bare hex.
    for k in unquoted_hex:
        if k[:1] == "a" and k[1:].isdigit():
            f[k] = _decode_hex(k, f[k])


def _execve_args(f: dict[str, str]) -> list[str]:
    return [f[f"a{i}"] for i in range(len(f)) if f"a{i}" in f]


def _merge_siblings(doc: dict[str, Any], rtype: str, siblings: list[tuple[str, str]]) -> None:
    """Fill the event from the other records of the same message, as Auditbeat coalesces them:
    arguments from ``EXECVE``, the working directory from ``CWD``, the file from the first ``PATH``,
    the title from ``PROCTITLE``. Only ECS fields are added: ``auditd.log.*`` stays the first record's."""
    types = []
    for stype, sbody in siblings:
        types.append(stype)
        f: dict[str, str] = {}
        unquoted_hex: set[str] = set()
        _kv(sbody.partition("\x1d")[0], f, unquoted_hex)
        if stype == "EXECVE":
            _decode_args(f, unquoted_hex)
            args = _execve_args(f)
            if args and "args" not in doc.get("process", {}):
                ecs.put(doc, "process.args", args)
                ecs.put(doc, "process.args_count", len(args))
                ecs.put(doc, "process.command_line", " ".join(args))
                if not ecs.get(doc, "process.executable"):
                    ecs.put(doc, "process.executable", args[0])
        elif stype == "CWD" and f.get("cwd"):
            ecs.put(doc, "process.working_directory", ecs.get(doc, "process.working_directory") or f["cwd"])
        elif stype == "PATH" and f.get("name") and not ecs.get(doc, "file.path"):
            ecs.put(doc, "file.path", f["name"])
        elif stype == "PROCTITLE" and f.get("proctitle") and not ecs.get(doc, "process.title"):
            ecs.put(doc, "process.title", f["proctitle"])
    if rtype == "SYSCALL" and "EXECVE" in types:
        # A system call that carries its EXECVE record started a program (Auditbeat: "executed").
        doc["event"]["action"] = "executed"
        doc["event"]["type"] = ["start"]


def _map(doc: dict[str, Any], rtype: str, f: dict[str, str], enr: dict[str, str],
         repeats: dict[str, list[str]] | None = None) -> None:
    ev = doc["event"]
    known = _TYPES.get(rtype)
    # The record type as written (EXECVE, SYSCALL...): Sigma's auditd rules select on it (``type: EXECVE``).
    ecs.put(doc, "auditd.log.record_type", rtype)
    if known:
        action, cat, typ = known
        ev["action"] = action
        if cat:
            ev["category"] = list(cat)
        if typ:
            ev["type"] = list(typ)
    else:
        ev["action"] = rtype.lower()
        if rtype == "SYSCALL":
            ev["category"] = ["process"]
            ev["type"] = ["info"]
    user_record = rtype in _USER_RECORDS
    log: dict[str, Any] = {}
    for k, v in f.items():
        if v in ("", "?"):
            continue
        if k == "pid" and v.isdigit():
            ecs.put(doc, "process.pid", int(v[:18]))
        elif k == "ppid" and v.isdigit():
            ecs.put(doc, "process.parent.pid", int(v[:18]))
        elif k == "exe":
            ecs.put(doc, "process.executable", v)
        elif k == "comm":
            ecs.put(doc, "process.name", v)
        elif k == "cwd":
            ecs.put(doc, "process.working_directory", v)
        elif k == "exit" and rtype == "SYSCALL" and v.lstrip("-").isdigit():
            ecs.put(doc, "process.exit_code", int(v[:18]))
        elif k == "terminal":
            ecs.put(doc, "user.terminal", v)
        elif k == "addr":
            set_address(doc, "source", v)
        elif k == "uid":
            if user_record or rtype == "LOGIN":
                log["uid"] = v
            else:
                ecs.put(doc, "user.id", v)
        elif k in _ID_FIELDS:
            ecs.put(doc, _ID_FIELDS[k], v)
        elif k == "acct":
            ecs.put(doc, "user.name", v)
            if user_record:
                ecs.put(doc, "user.effective.name", v)
        elif k == "res":
            low = v.lower()
            if low in ("success", "yes", "1"):
                ev["outcome"] = "success"
            elif low in ("failed", "fail", "no", "0"):
                ev["outcome"] = "failure"
        elif k == "success":
            log["success"] = v == "yes"
            ev["outcome"] = "success" if v == "yes" else "failure"
        elif k in _INT_FIELDS and v.lstrip("-").isdigit():
            log[k] = int(v[:18])
        elif k == "key_enforce" and v in ("0", "1"):
            log[k] = v == "1"
        elif k == "proctitle":
            log[k] = v
            ecs.put(doc, "process.title", v)
        else:
            log[k] = v
    if user_record:
        auid = f.get("auid")
        if auid and (auid not in _UNSET or rtype not in ("USER_LOGIN", "USER_AUTH")):
            ecs.put(doc, "user.id", auid)
        elif f.get("uid"):
            ecs.put(doc, "user.id", f["uid"])
        uid = f.get("uid")
        if uid and rtype in ("ADD_USER", "DEL_USER", "USER_MGMT", "ADD_GROUP", "DEL_GROUP", "GRP_MGMT",
                             "USER_CHAUTHTOK"):
            ecs.put(doc, "user.effective.id", uid)
        if rtype in ("ADD_USER", "DEL_USER", "USER_MGMT") and f.get("id"):
            ecs.put(doc, "user.target.id", f["id"])
        if rtype in ("ADD_GROUP", "DEL_GROUP") and f.get("id"):
            ecs.put(doc, "group.id", f["id"])
        if rtype == "USER_CHAUTHTOK" and f.get("acct"):
            ecs.put(doc, "user.target.name", f["acct"])
        if rtype == "USER_LOGOUT" and f.get("id"):
            ecs.put(doc, "user.effective.id", f["id"])
            ecs.put(doc, "user.id", f["id"])
    if rtype == "LOGIN":
        if f.get("old_auid"):  # "old auid=700 new auid=700" (older kernels)
            ecs.put(doc, "user.id", f["old_auid"])
            ecs.put(doc, "user.effective.id", f.get("new_auid"))
        else:  # "uid=0 old-auid=... auid=1000"
            ecs.put(doc, "user.id", f.get("uid"))
            ecs.put(doc, "user.effective.id", f.get("auid"))
    if rtype == "USER_CMD" and f.get("cmd"):
        args = f["cmd"].split()
        ecs.put(doc, "process.args", args)
        ecs.put(doc, "process.args_count", len(args))
    if rtype == "EXECVE":
        args = _execve_args(f)
        if args:
            ecs.put(doc, "process.args", args)
            ecs.put(doc, "process.args_count", len(args))
            ecs.put(doc, "process.executable", args[0])
            ecs.put(doc, "process.command_line", " ".join(args))
    if rtype in ("CRYPTO_SESSION", "CRYPTO_KEY_USER"):
        # sshd writes the peer as addr/rport and its own end as laddr/lport.
        if f.get("rport", "").isdigit() and ecs.get(doc, "source.ip"):
            ecs.put(doc, "source.port", int(f["rport"][:5]))
        if f.get("laddr") and f["laddr"] != f.get("addr"):
            set_address(doc, "destination", f["laddr"])
            if f.get("lport", "").isdigit() and ecs.get(doc, "destination.ip"):
                ecs.put(doc, "destination.port", int(f["lport"][:5]))
    if rtype == "MAC_IPSEC_EVENT":
        set_address(doc, "source", f.get("src"))
        ecs.put(doc, "destination.address", f.get("dst"))
        ecs.put(doc, "destination.ip", f.get("dst"))
    if rtype == "SOFTWARE_UPDATE":
        ecs.put(doc, "package.name", f.get("sw"))
    if rtype == "VIRT_MACHINE_ID":
        ecs.put(doc, "container.name", f.get("vm"))
        ecs.put(doc, "container.runtime", f.get("virt"))
    if rtype in ("USER_LOGIN", "USER_AUTH") and "outcome" in ev and ev["outcome"] == "failure":
        ev.setdefault("type", ["info"])
    if rtype == "PATH" and f.get("name"):
        ecs.put(doc, "file.path", f["name"])
    # Enrichment after \x1d (ausearch --format enriched / auditd log_format=ENRICHED).
    for k, v in enr.items():
        if k.isupper() or k in log:
            continue
        log[k] = int(v[:18]) if k in _INT_FIELDS and v.lstrip("-").isdigit() else v
    names = {k: v for k, v in enr.items() if k.isupper()}
    if names.get("AUID") and names["AUID"] != "unset":
        ecs.put(doc, "user.audit.name", names["AUID"])
    if names.get("UID"):
        ecs.put(doc, "user.name", ecs.get(doc, "user.name") or names["UID"])
    for k, vals in (repeats or {}).items():
        if k in log:  # Elastic's kv processor keeps every value of a repeated key
            log[k] = [int(x[:18]) if k in _INT_FIELDS and x.lstrip("-").isdigit() else x for x in vals]
    for k, v in log.items():
        if k == "ses" and v in _UNSET:
            ecs.put(doc, "auditd.log.ses", v)
            continue
        ecs.put(doc, f"auditd.log.{k}", v)
