"""``auth``: Linux authentication logs (``/var/log/auth.log``, ``/var/log/secure``).

Maps like Elastic's ``system.auth`` pipeline: sshd logins and connection
events (``system.auth.ssh.*``), sudo (``system.auth.sudo.*``), su, PAM
(``pam_unix`` sessions and failures, ``pam_faillock``...), account and group
management (useradd, userdel, usermod, groupadd, groupdel, passwd, chage,
gpasswd) and systemd-logind sessions. Lines of other programs still parse:
they keep the syslog fields and ``message`` with no category.

Who is who: ``user.name`` is the actor (the account logging in, the sudo
caller, the PAM ``ruser``/``logname`` when known), ``user.effective.name`` the
identity a command runs as, ``user.target.name`` the account an IAM change is
about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from soc import ecs

from . import _srv_ecs, _srv_syslog
from ._srv_http import ip_or_none, set_address
from .base import ParseContext

NAME = "auth"

_PROGRAMS = frozenset({
    "sshd", "sudo", "su", "login", "passwd", "useradd", "userdel", "usermod", "groupadd", "groupdel",
    "groupmod", "chage", "gpasswd", "chpasswd", "systemd-logind", "unix_chkpwd", "polkitd", "cron", "crond",
    "sshd-session", "doas", "pkexec", "newgrp", "chsh", "chfn", "vsftpd", "systemd",
})
_SNIFF = re.compile(
    r"(?:^|\s)(?:sshd|sudo|su|passwd|useradd|userdel|usermod|groupadd|groupdel|unix_chkpwd|systemd-logind)"
    r"(?:\[\d+\]|\([a-z_]+\)(?:\[\d+\])?)?: |\S\(pam_[a-z_]+\)(?:\[\d+\])?: |: pam_[a-z_]+\([^)]{1,64}\): ")


def sniff(line: str) -> bool:
    return bool(_SNIFF.search(line[:200]))


def _put_user_src(doc: dict[str, Any], g: dict[str, str | None]) -> None:
    _user_src(doc, g.get("user"), g.get("ip"), g.get("port"))


def _user_src(doc: dict[str, Any], user: str | None, ip: str | None, port: str | None) -> None:
    """``user.name``, ``source.address/ip/domain`` and ``source.port``."""
    if user:
        _srv_ecs.sub(doc, "user")["name"] = user
    set_address(doc, "source", ip)
    if port and port.isdigit() and len(port) <= 5:
        _srv_ecs.sub(doc, "source")["port"] = int(port)


def _auth_event(doc: dict[str, Any], outcome: str | None, action: str | None = None,
                category: list[str] | None = None, etype: list[str] | None = None) -> None:
    ev = doc["event"]
    ev["category"] = category or ["authentication"]
    ev["type"] = etype or ["info"]
    if outcome:
        ev["outcome"] = outcome
    if action:
        ev["action"] = action


# --- sshd -----------------------------------------------------------------------------------

_PREAUTH = r"(?: \[preauth\])?$"
_SSH_LOGIN = re.compile(
    r"(?P<event>Accepted|Failed|Postponed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) "
    r"from (?P<ip>\S+) port (?P<port>\d+)(?: ssh2?)?(?:: (?P<sig>.*?))?" + _PREAUTH)
_SSH_INVALID = re.compile(r"[Ii]nvalid user (?P<user>.*?) from (?P<ip>\S+)(?: port (?P<port>\d+))?" + _PREAUTH)
_SSH_MAXAUTH = re.compile(
    r"error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+)"
    r"(?: port (?P<port>\d+))?(?: ssh2)?" + _PREAUTH)
_SSH_NOTALLOWED = re.compile(r"User (?P<user>\S+) from (?P<ip>\S+) not allowed because (?P<reason>.*)$")
_SSH_NOID = re.compile(r"Did not receive identification string from (?P<ip>\S+)(?: port (?P<port>\d+))?")
_SSH_RECV_DISC = re.compile(
    r"(?:error: )?Received disconnect from (?P<ip>\S+?)(?: port (?P<port>\d+))?:\s*(?P<code>\d+):\s*(?P<reason>.*?)" + _PREAUTH)
_SSH_DISC = re.compile(
    r"Disconnected from (?:(?:invalid |authenticating )?user (?P<user>\S+) )?(?P<ip>\S+) port (?P<port>\d+)"
    + _PREAUTH)
_SSH_CLOSED = re.compile(
    r"Connection (?P<how>closed|reset) by (?:(?:invalid |authenticating )?user (?P<user>\S+) )?(?P<ip>\S+)"
    r"(?: port (?P<port>\d+))?" + _PREAUTH)
_SSH_REVERSE = re.compile(r"reverse mapping checking getaddrinfo for (?P<host>\S+) \[(?P<ip>[^\]]+)\] failed")
_SSH_MAPS = re.compile(r"Address (?P<ip>\S+) maps to (?P<host>[^,\s]+), but this does not map back")
_SSH_NEGOTIATE = re.compile(r"(?:fatal: )?Unable to negotiate with (?P<ip>[^\s:]+|\[[^\]]+\])(?: port (?P<port>\d+))?:")
_SSH_BADPROTO = re.compile(r"Bad protocol version identification '.*' from (?P<ip>\S+)(?: port (?P<port>\d+))?")
_SSH_READERR = re.compile(r"Read error from remote host (?P<ip>[^\s:]+)(?: port (?P<port>\d+))?:")
_SSH_SUBSYS = re.compile(r"subsystem request for (?P<sub>\S+) by user (?P<user>\S+)")
_SSH_INPUT_INVALID = re.compile(r"input_userauth_request: invalid user (?P<user>\S+)" + _PREAUTH)
#: Elastic's last-resort sshd pattern: ``<event> user <name> from <host>``.
_SSH_GENERIC = re.compile(r"(?P<event>.+?) user (?P<user>\S+) from (?P<ip>[^\s\[\]]+)(?: port (?P<port>\d+))?")


def _ssh_fields(rx: re.Pattern[str], g: dict[str, Any], event: str | None) -> dict[str, Any]:
    """``system.auth.ssh.*`` of an sshd message that ``rx`` matched (groups ``g``), as ``ecs.put`` would write
    it: empty values left out. Shared by the handler (``_sshd``) and the one-pass build (``_ssh_rule``)."""
    ssh_f: dict[str, Any] = {}
    if event:
        ssh_f["event"] = event
    if rx is _SSH_NOID:
        ssh_f["dropped_ip"] = g["ip"]
    elif rx is _SSH_RECV_DISC:
        reason = g["reason"]
        ssh_f["disconnect"] = {"code": g["code"], "reason": reason} if reason else {"code": g["code"]}
    elif rx is _SSH_NOTALLOWED:
        if g["reason"]:
            ssh_f["failure_reason"] = g["reason"]
    elif rx is _SSH_SUBSYS:
        ssh_f["subsystem"] = g["sub"]
    return ssh_f


def _sshd(doc: dict[str, Any], msg: str) -> bool:
    # Every pattern but the generic one starts with a fixed word: only the patterns for the
    # message's first word are tried, in table order, so the result is the one trying all gives.
    sp = msg.find(" ")
    word = msg[:sp] if sp >= 0 else msg
    if word in _SSH_LOGIN_WORDS:
        m = _SSH_LOGIN.match(msg)
        if m:
            ev, method, _invalid, user, ip, port, sig = m.groups()
            _user_src(doc, user, ip, port)
            ssh: dict[str, Any] = {"event": ev, "method": method}
            if sig:
                ssh["signature"] = sig
            if "system" in doc:
                _srv_ecs.sub(_srv_ecs.sub(doc, "system"), "auth")["ssh"] = ssh
            else:
                doc["system"] = {"auth": {"ssh": ssh}}
            if ev == "Accepted":
                _auth_event(doc, "success", "ssh_login", ["authentication", "session"])
            elif ev == "Failed":
                _auth_event(doc, "failure", "ssh_login")
            else:
                _auth_event(doc, None, "ssh_login")
            return True
    else:
        for rx, event, outcome, action in _SSH_BY_WORD.get(word, ()):
            m = rx.match(msg)
            if m:
                g = m.groupdict()
                _put_user_src(doc, g)
                host = g.get("host")
                if host:
                    _srv_ecs.sub(doc, "source")["domain"] = host
                ssh_f = _ssh_fields(rx, g, event)
                if ssh_f:
                    _srv_ecs.sub(_srv_ecs.sub(doc, "system"), "auth")["ssh"] = ssh_f
                if action == "ssh_login":
                    _auth_event(doc, outcome, action)
                elif action:
                    ev_ = doc["event"]
                    ev_["category"] = ["network"] if action != "ssh_break_in_attempt" else ["intrusion_detection"]
                    ev_["type"] = ["connection"] if action != "ssh_break_in_attempt" else ["info"]
                    ev_["action"] = action
                    if outcome:
                        ev_["outcome"] = outcome
                return True
    m = _SSH_GENERIC.match(msg)
    if m:
        g = m.groupdict()
        ecs.put(doc, "system.auth.ssh.event", g["event"])
        _put_user_src(doc, g)
        return True
    return False


_SshRule = tuple[re.Pattern[str], str | None, str | None, str | None]
_SSH_TABLE: list[_SshRule] = [
    (_SSH_INVALID, "Invalid", "failure", "ssh_login"),
    (_SSH_MAXAUTH, "Failed", "failure", "ssh_login"),
    (_SSH_NOTALLOWED, "Failed", "failure", "ssh_login"),
    (_SSH_INPUT_INVALID, "Invalid", "failure", "ssh_login"),
    (_SSH_NOID, None, None, None),
    (_SSH_RECV_DISC, "Disconnect", None, "ssh_disconnect"),
    (_SSH_DISC, "Disconnect", None, "ssh_disconnect"),
    (_SSH_CLOSED, "Disconnect", None, "ssh_disconnect"),
    (_SSH_REVERSE, None, None, "ssh_break_in_attempt"),
    (_SSH_MAPS, None, None, "ssh_break_in_attempt"),
    (_SSH_NEGOTIATE, None, "failure", "ssh_negotiation_failed"),
    (_SSH_BADPROTO, None, "failure", "ssh_bad_protocol"),
    (_SSH_READERR, None, "failure", "ssh_disconnect"),
    (_SSH_SUBSYS, None, None, None),
]
_SSH_LOGIN_WORDS = frozenset({"Accepted", "Failed", "Postponed"})
#: The first word(s) each pattern of ``_SSH_TABLE`` can start with (a test checks that this
#: dispatch gives what trying the whole table gives).
_SSH_FIRST_WORDS: dict[re.Pattern[str], tuple[str, ...]] = {
    _SSH_INVALID: ("Invalid", "invalid"), _SSH_MAXAUTH: ("error:",), _SSH_NOTALLOWED: ("User",),
    _SSH_INPUT_INVALID: ("input_userauth_request:",), _SSH_NOID: ("Did",),
    _SSH_RECV_DISC: ("error:", "Received"), _SSH_DISC: ("Disconnected",), _SSH_CLOSED: ("Connection",),
    _SSH_REVERSE: ("reverse",), _SSH_MAPS: ("Address",), _SSH_NEGOTIATE: ("fatal:", "Unable"),
    _SSH_BADPROTO: ("Bad",), _SSH_READERR: ("Read",), _SSH_SUBSYS: ("subsystem",),
}
_SSH_BY_WORD: dict[str, list[_SshRule]] = {}
for _rule in _SSH_TABLE:
    for _word in _SSH_FIRST_WORDS[_rule[0]]:
        _SSH_BY_WORD.setdefault(_word, []).append(_rule)

# --- PAM ------------------------------------------------------------------------------------

_PAM = re.compile(r"(?P<mod>pam_[a-z0-9_]+)\((?P<svc>[^:)]{1,64}):(?P<kind>[a-z]{1,16})\): (?P<rest>.*)$", re.S)
_PAM_KV = re.compile(r"(\w+)=(\S*)")
_PAM_MORE = re.compile(r"(?:PAM )?(?P<n>\d+) more authentication failures?; (?P<kv>.*)$")
_PAM_OPEN = re.compile(
    r"session opened for user (?P<user>[^\s(]+)(?:\(uid=(?P<uid>\d+)\))?(?: by (?P<by>[^\s(]*)(?:\(uid=(?P<byuid>\d+)\))?)?")
_PAM_CLOSE = re.compile(r"session closed for user (?P<user>[^\s(]+)")
_PAM_PWCHANGED = re.compile(r"password changed for (?P<user>\S+)")
_PAM_NOUSER = re.compile(r'user "(?P<user>[^"]+)" does not exist')
_PAM_FAILLOCK = re.compile(r"Consecutive login failures for user (?P<user>\S+) account temporarily locked")
_PAM_NOTMET = re.compile(r'requirement ".*" not met by user "(?P<user>[^"]+)"')


def _pam_kv(doc: dict[str, Any], kvtext: str, chauthtok: bool) -> None:
    kv = dict(_PAM_KV.findall(kvtext))
    get = kv.get
    user, ruser, logname = get("user", ""), get("ruser", ""), get("logname", "")
    rhost = get("rhost", "")
    if rhost:
        set_address(doc, "source", rhost)
    # Direct writes, as ecs.put would make them (empty values left out, ``user`` created on first use).
    if chauthtok:
        name = logname or ruser or user
        if name:
            _srv_ecs.sub(doc, "user")["name"] = name
        if user:
            _srv_ecs.sub(_srv_ecs.sub(doc, "user"), "target")["name"] = user
        return
    actor = ruser or logname
    if actor:
        u = _srv_ecs.sub(doc, "user")
        u["name"] = actor
        uid = get("uid", "")
        if uid.isdigit():
            u["id"] = uid
        if user:
            eff = _srv_ecs.sub(u, "effective")
            eff["name"] = user
            euid = get("euid", "")
            if euid.isdigit():
                eff["id"] = euid
    elif user:
        _srv_ecs.sub(doc, "user")["name"] = user
    tty = get("tty")
    if tty:
        _srv_ecs.sub(_srv_ecs.sub(_srv_ecs.sub(doc, "system"), "auth"), "pam")["tty"] = tty


def _pam_body(doc: dict[str, Any], rest: str, kind: str | None) -> bool:
    chauthtok = kind == "chauthtok"
    if rest.startswith("authentication failure;"):
        _pam_kv(doc, rest[23:], chauthtok)
        if chauthtok:
            _auth_event(doc, "failure", "authentication_failure", ["iam", "authentication"], ["change", "info"])
        else:
            _auth_event(doc, "failure", "authentication_failure")
        return True
    if not chauthtok and rest.startswith("check pass; user unknown"):
        # Tested here (no pattern below but the chauthtok one can match a line starting so).
        _auth_event(doc, "failure", "authentication_failure")
        return True
    m = _PAM_MORE.match(rest)
    if m:
        _pam_kv(doc, m.group("kv"), False)
        _auth_event(doc, "failure", "authentication_failure")
        return True
    m = _PAM_OPEN.match(rest)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        ecs.put(doc, "user.id", m.group("uid"))
        by = m.group("by")
        if by:
            ecs.put(doc, "system.auth.pam.by", by)
            ecs.append(doc, "related.user", by)
        _auth_event(doc, "success", "session_opened", ["session"], ["start"])
        return True
    m = _PAM_CLOSE.match(rest)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        _auth_event(doc, "success", "session_closed", ["session"], ["end"])
        return True
    m = _PAM_PWCHANGED.match(rest)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        ecs.put(doc, "user.target.name", m.group("user"))
        _auth_event(doc, "success", "password-changed", ["iam"], ["change"])
        return True
    if chauthtok and ("not acceptable" in rest or "does not exist" in rest or "failed" in rest):
        m = _PAM_NOUSER.search(rest)
        if m:
            ecs.put(doc, "user.target.name", m.group("user"))
        _auth_event(doc, "failure", "password-changed", ["iam"], ["change"])
        return True
    m = _PAM_FAILLOCK.match(rest)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        _auth_event(doc, "failure", "account_locked", ["authentication"], ["info"])
        return True
    m = _PAM_NOTMET.match(rest)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        return True
    if rest.startswith("check pass; user unknown"):
        _auth_event(doc, "failure", "authentication_failure")
        return True
    return False


def _pam(doc: dict[str, Any], msg: str) -> bool:
    old_style = "system" in doc  # module taken from a "su(pam_unix)" tag by _srv_syslog.start
    if not old_style and not msg.startswith(("pam_", "PAM ")):
        return False
    m = _PAM.match(msg)
    if m:
        mod, svc, kind, rest = m.groups()  # all non-empty: written as ecs.put would
        if "system" not in doc:  # the usual case: built at once
            doc["system"] = {"auth": {"pam": {"module": mod, "service": svc, "type": kind}}}
        else:
            pam = _srv_ecs.sub(_srv_ecs.sub(_srv_ecs.sub(doc, "system"), "auth"), "pam")
            pam["module"] = mod
            pam["service"] = svc
            pam["type"] = kind
        _pam_body(doc, rest, kind)
        return True
    if old_style or msg.startswith("PAM "):
        # Old ``su(pam_unix)[123]: authentication failure; ...`` style, or sshd's "PAM N more ...".
        return _pam_body(doc, msg, None) or msg.startswith("PAM ")
    return False


# --- sudo -----------------------------------------------------------------------------------

_SUDO = re.compile(r"\s*(?P<user>[^\s:]+) : (?P<rest>.*?(?:TTY|PWD|USER|COMMAND)=.*)$", re.S)
_SYSTEMCTL_VERBS = {"start": ("service-start", "start"), "stop": ("service-stop", "end"),
                    "restart": ("service-restart", "change"), "reload": ("service-reload", "change"),
                    "enable": ("service-enable", "change"), "disable": ("service-disable", "change"),
                    "mask": ("service-mask", "change"), "unmask": ("service-unmask", "change")}


def _sudo(doc: dict[str, Any], msg: str) -> bool:
    m = _SUDO.match(msg)
    if not m:
        return False
    rest = m.group("rest")
    cmd = None
    ci = rest.find("COMMAND=")
    if ci >= 0:
        cmd = rest[ci + 8:]
        rest = rest[:ci]
    fields: dict[str, str] = {}
    errors: list[str] = []
    for part in rest.split(" ; "):
        part = part.strip().rstrip(";").strip()
        if not part:
            continue
        k, eq, v = part.partition("=")
        if eq and k.isupper():
            fields[k] = v
        else:
            errors.append(part)
    # Written directly (what ecs.put would write: empty values are left out).
    user = _srv_ecs.sub(doc, "user")
    user["name"] = m.group("user")
    proc = _srv_ecs.sub(doc, "process")
    proc["name"] = proc.get("name") or "sudo"
    sudo = {k: v for k, v in (("tty", fields.get("TTY")), ("pwd", fields.get("PWD")),
                              ("user", fields.get("USER")), ("group", fields.get("GROUP")), ("command", cmd)) if v}
    if sudo:
        _srv_ecs.sub(_srv_ecs.sub(_srv_ecs.sub(doc, "system"), "auth"), "sudo").update(sudo)
    run_as = fields.get("USER")
    if run_as:
        _srv_ecs.sub(user, "effective")["name"] = run_as
    ev = doc["event"]
    ev["category"] = ["process"]
    ev["type"] = ["start"]
    if errors:
        ecs.put(doc, "system.auth.sudo.error", "; ".join(errors))
        ev["outcome"] = "failure"
    else:
        ev["outcome"] = "success"
    if cmd:
        toks = cmd.split()
        if toks and toks[0].rsplit("/", 1)[-1] == "systemctl":
            args = [t for t in toks[1:] if not t.startswith("-")]
            if len(args) >= 2 and args[0] in _SYSTEMCTL_VERBS:
                action, etype = _SYSTEMCTL_VERBS[args[0]]
                ev["action"] = action
                ev["type"] = [etype]
                unit = args[1]
                ecs.put(doc, "service.name", unit[:-8] if unit.endswith(".service") else unit)
    return True


# --- su -------------------------------------------------------------------------------------

_SU: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Successful su for (?P<target>\S+) by (?P<user>\S+)"), "success"),
    (re.compile(r"FAILED su for (?P<target>\S+) by (?P<user>\S+)"), "failure"),
    (re.compile(r"(?P<sign>[+-]) (?P<tty>\S+) (?P<user>[^:\s]+):(?P<target>\S+)$"), ""),
    (re.compile(r"\(to (?P<target>\S+)\) (?P<user>\S+) on (?P<tty>\S+)"), "success"),
    (re.compile(r"BAD SU (?P<user>\S+) to (?P<target>\S+)(?: on (?P<tty>\S+))?"), "failure"),
    (re.compile(r"failed: (?P<tty>\S+) changing from (?P<user>\S+) to (?P<target>\S+)"), "failure"),
    (re.compile(r"(?P<user>[^\s:]+) to (?P<target>\S+) on (?P<tty>\S+)$"), "success"),
]


def _su(doc: dict[str, Any], msg: str) -> bool:
    for rx, outcome in _SU:
        m = rx.match(msg)
        if m:
            g = m.groupdict()
            if not outcome:
                outcome = "success" if g.get("sign") == "+" else "failure"
            ecs.put(doc, "user.name", g["user"])
            ecs.put(doc, "user.effective.name", g["target"])
            ecs.put(doc, "system.auth.su.tty", g.get("tty"))
            _auth_event(doc, outcome, "su", ["authentication"], ["start"] if outcome == "success" else ["info"])
            return True
    return False


# --- account and group management -----------------------------------------------------------

_Q = r"'?(?P<{0}>[^'\s,]+)'?"
_IAM: list[tuple[re.Pattern[str], str, list[str], str]] = [
    (re.compile(r"new user: (?P<kv>.*)$"), "user-created", ["user", "creation"], "success"),
    (re.compile(r"new group: (?P<kv>.*)$"), "group-created", ["group", "creation"], "success"),
    (re.compile(r"group added to /etc/\S+: (?P<kv>.*)$"), "group-created", ["group", "creation"], "success"),
    (re.compile(r"failed adding user " + _Q.format("target")), "user-created", ["user", "creation"], "failure"),
    (re.compile(r"delete user " + _Q.format("target")), "user-deleted", ["user", "deletion"], "success"),
    (re.compile(r"removed (?:shadow )?group " + _Q.format("group") + r" owned by " + _Q.format("target")),
     "group-deleted", ["group", "deletion"], "success"),
    (re.compile(r"group " + _Q.format("group") + r" removed"), "group-deleted", ["group", "deletion"], "success"),
    (re.compile(r"add " + _Q.format("target") + r" to (?:shadow )?group " + _Q.format("group")),
     "group-member-added", ["user", "change"], "success"),
    (re.compile(r"delete " + _Q.format("target") + r" from (?:shadow )?group " + _Q.format("group")),
     "group-member-removed", ["user", "change"], "success"),
    (re.compile(r"user (?P<target>\S+) added by (?P<user>\S+) to group (?P<group>\S+)"),
     "group-member-added", ["user", "change"], "success"),
    (re.compile(r"user (?P<target>\S+) removed by (?P<user>\S+) from group (?P<group>\S+)"),
     "group-member-removed", ["user", "change"], "success"),
    (re.compile(r"password for " + _Q.format("target") + r" changed by " + _Q.format("user")),
     "password-changed", ["change"], "success"),
    (re.compile(r"changed password expiry for (?P<target>\S+)"), "password-expiry-changed", ["user", "change"],
     "success"),
    (re.compile(r"(?P<what>change|lock|unlock) user " + _Q.format("target") + r"(?P<detail>.*)$"),
     "user-changed", ["user", "change"], "success"),
    (re.compile(r"group changed in \S+ \(group (?P<group>[^/\s]+)/(?P<gid>\d+)"), "group-changed",
     ["group", "change"], "success"),
]
_IAM_KV = re.compile(r"(\w+)=([^,]*)")
_IAM_DEFAULT = {"useradd": ["user", "creation"], "userdel": ["user", "deletion"], "usermod": ["user", "change"],
                "groupadd": ["group", "creation"], "groupdel": ["group", "deletion"],
                "groupmod": ["group", "change"]}


def _iam(doc: dict[str, Any], msg: str, prog: str) -> bool:
    for rx, action, etype, outcome in _IAM:
        m = rx.match(msg)
        if not m:
            continue
        g = m.groupdict()
        ev = doc["event"]
        ev["category"] = ["iam"]
        ev["type"] = list(etype)
        ev["action"] = action
        ev["outcome"] = outcome
        if g.get("kv") is not None:
            kv = {k.lower(): v.strip() for k, v in _IAM_KV.findall(g["kv"])}
            name = kv.get("name")
            if action == "user-created":
                ecs.put(doc, "user.name", name)
                ecs.put(doc, "user.target.name", name)
                ecs.put(doc, "user.id", kv.get("uid"))
                ecs.put(doc, "user.target.id", kv.get("uid"))
                ecs.put(doc, "group.id", kv.get("gid"))
                ecs.put(doc, "system.auth.useradd.home", kv.get("home"))
                ecs.put(doc, "system.auth.useradd.shell", kv.get("shell"))
            else:
                ecs.put(doc, "group.name", name)
                ecs.put(doc, "group.id", kv.get("gid"))
            return True
        target = g.get("target")
        if target:
            ecs.put(doc, "user.target.name", target)
            if action in ("user-deleted", "group-member-added", "group-member-removed", "user-changed",
                          "user-created", "password-expiry-changed") and not g.get("user"):
                ecs.put(doc, "user.name", target)
        ecs.put(doc, "user.name", g.get("user"))
        ecs.put(doc, "group.name", g.get("group"))
        ecs.put(doc, "group.id", g.get("gid"))
        return True
    etype_default = _IAM_DEFAULT.get(prog)
    if etype_default:
        doc["event"]["category"] = ["iam"]
        doc["event"]["type"] = list(etype_default)
        doc["event"]["outcome"] = "success"
        return True
    return False


# --- logind, unix_chkpwd --------------------------------------------------------------------

_LOGIND_NEW = re.compile(r"New session (?P<sid>\S+) of user (?P<user>[^\s.]+(?:\.[^\s.]+)*)\.?")
_LOGIND_END = re.compile(r"(?:Removed session (?P<sid>[^\s.]+)|Session (?P<sid2>\S+) logged out)")
_CHKPWD = re.compile(r"password check failed for user \((?P<user>[^)]*)\)")


def _logind(doc: dict[str, Any], msg: str) -> bool:
    m = _LOGIND_NEW.match(msg)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        ecs.put(doc, "system.auth.session.id", m.group("sid"))
        _auth_event(doc, "success", "session_opened", ["session"], ["start"])
        return True
    m = _LOGIND_END.match(msg)
    if m:
        ecs.put(doc, "system.auth.session.id", m.group("sid") or m.group("sid2"))
        _auth_event(doc, "success", "session_closed", ["session"], ["end"])
        return True
    return False


def _chkpwd(doc: dict[str, Any], msg: str) -> bool:
    m = _CHKPWD.match(msg)
    if m:
        ecs.put(doc, "user.name", m.group("user"))
        _auth_event(doc, "failure", "authentication_failure")
        return True
    return False


_ANY_AUTHFAIL = re.compile(
    r"(?i).*?\bauthentication fail(?:ed|ure)\b(?:.*? for (?:user )?(?P<user>[^\s;,]+))?(?:.*? from (?P<ip>[0-9A-Fa-f.:]+))?")
_ANY_CONN = re.compile(r"(?i).*?\bconnection from (?P<ip>[0-9A-Fa-f.:]+[0-9A-Fa-f])")
_HINT_AUTHFAIL = re.compile(r"(?i)authentication fail")
_HINT_CONN = re.compile(r"(?i)connection from")


def _other(doc: dict[str, Any], msg: str) -> bool:
    """Programs without their own handler (ftpd, klogind...): authentication failures and peers."""
    # Each pattern needs its phrase somewhere: a plain search for it (several times cheaper than the
    # lazy ``.*?`` scan) skips lines that cannot match.
    m = _ANY_AUTHFAIL.match(msg) if _HINT_AUTHFAIL.search(msg) else None
    if m:
        _put_user_src(doc, m.groupdict())
        _auth_event(doc, "failure", "authentication_failure")
        return True
    m = _ANY_CONN.match(msg) if _HINT_CONN.search(msg) else None
    if m:
        _put_user_src(doc, m.groupdict())
        return True
    return False


Handler = Callable[[dict[str, Any], str], bool]
_BY_PROGRAM: dict[str, list[Handler]] = {
    "sshd": [_pam, _sshd],
    "sshd-session": [_pam, _sshd],
    "sudo": [_pam, _sudo],
    "su": [_pam, _su],
    "systemd-logind": [_logind],
    "unix_chkpwd": [_chkpwd],
    "login": [_pam],
    "passwd": [_pam],
}
_GENERIC: list[Handler] = [_pam, _sudo]


_LOGIN_STARTS = ("Accepted ", "Failed ", "Postponed ")
_SSH_PROGRAMS = frozenset({"sshd", "sshd-session"})


def _ssh_login(doc: dict[str, Any], m: re.Match[str]) -> None:
    """An sshd ``Accepted|Failed|Postponed`` line, with ``related.*``, built in one pass.

    Called on a document holding only what ``_srv_syslog.start`` wrote (no ``user``, ``source``,
    ``system`` or ``related``; ``host`` carries names only), so the fields land in the order, and
    ``related.*`` gets the values, that ``_sshd`` + ``_srv_ecs.related`` give (checked by a test)."""
    ev, method, _invalid, user, ip, port, sig = m.groups()
    if user:
        doc["user"] = {"name": user}
    canon = None
    if ip != "-":
        canon = ip_or_none(ip)
        doc["source"] = {"address": ip, "ip": canon} if canon is not None else {"address": ip, "domain": ip}
    if port.isdigit() and len(port) <= 5:
        src = doc.get("source")
        if src is None:
            doc["source"] = {"port": int(port)}
        else:
            src["port"] = int(port)
    ssh: dict[str, Any] = {"event": ev, "method": method}
    if sig:
        ssh["signature"] = sig
    doc["system"] = {"auth": {"ssh": ssh}}
    event = doc["event"]
    if ev == "Accepted":
        event["category"] = ["authentication", "session"]
        event["type"] = ["info"]
        event["outcome"] = "success"
    else:
        event["category"] = ["authentication"]
        event["type"] = ["info"]
        if ev == "Failed":
            event["outcome"] = "failure"
    event["action"] = "ssh_login"
    rel: dict[str, Any] = {}
    if canon is not None:
        rel["ip"] = [canon]
    if user:
        rel["user"] = [user]
    host = doc.get("host")
    hosts = [host["name"]] if host is not None else []
    if ip != "-" and canon is None and ip not in hosts:
        hosts.append(ip)
    if hosts:
        rel["hosts"] = hosts
    if rel:
        doc["related"] = rel


def _related(doc: dict[str, Any]) -> None:
    """``_srv_ecs.related`` for the fields this parser writes, a third of its cost.

    An auth document holds addresses only in ``source`` (address/ip/domain), user names only in
    ``user.name``, ``user.target.name`` and ``user.effective.name`` (strings), host names in ``host``
    (from the header), and ``related`` only as ``related.user``: the same values land in the same
    order (a test compares the two over the sample logs)."""
    get = doc.get
    old = get("related")
    if old is not None:  # rare (PAM "session opened ... by"): the general helper
        _srv_ecs.related(doc)
        return
    rel: dict[str, Any] = {}
    src = get("source")
    if src is not None:
        ip = src.get("ip")
        if ip:
            rel["ip"] = [ip]
    user = get("user")
    if user is not None:
        users: list[Any] = []
        name = user.get("name")
        if name:
            users.append(name)
        for sub_key in ("target", "effective"):
            u = user.get(sub_key)
            if u is not None:
                v = u.get("name")
                if v and v not in users:
                    users.append(v)
        if users:
            rel["user"] = users
    hosts: list[Any] = []
    host = get("host")
    if host is not None:
        v = host.get("name")
        if v:
            hosts.append(v)
        v = host.get("hostname")
        if v and v not in hosts:
            hosts.append(v)
    if src is not None:
        v = src.get("domain")
        if v and v not in hosts:
            hosts.append(v)
    if hosts:
        rel["hosts"] = hosts
    if rel:
        doc["related"] = rel


def _ssh_rule(doc: dict[str, Any], m: re.Match[str], rule: _SshRule) -> None:
    """One ``_SSH_TABLE`` match written in one pass, ``related.*`` included.

    Called on a document holding only what ``_srv_syslog.start`` wrote (as ``_ssh_login``): the
    fields land in the order, with the values, that ``_sshd`` + ``_related`` give (checked by a test)."""
    rx, event, outcome, action = rule
    g = m.groupdict()
    get = g.get
    user, ip, port = get("user"), get("ip"), get("port")
    rel: dict[str, Any] = {}
    src: dict[str, Any] | None = None
    if user:
        doc["user"] = {"name": user}
    if ip and ip != "-":
        canon = ip_or_none(ip)
        if canon is not None:
            src = doc["source"] = {"address": ip, "ip": canon}
            rel["ip"] = [canon]
        else:
            src = doc["source"] = {"address": ip, "domain": ip}
    if port and port.isdigit() and len(port) <= 5:
        if src is None:
            src = doc["source"] = {}
        src["port"] = int(port)
    host = get("host")
    if host:
        if src is None:
            src = doc["source"] = {}
        src["domain"] = host
    ssh_f = _ssh_fields(rx, g, event)
    if ssh_f:
        doc["system"] = {"auth": {"ssh": ssh_f}}
    if action:
        ev = doc["event"]
        if action == "ssh_login":
            ev["category"] = ["authentication"]
            ev["type"] = ["info"]
            if outcome:
                ev["outcome"] = outcome
        else:
            ev["category"] = ["network"] if action != "ssh_break_in_attempt" else ["intrusion_detection"]
            ev["type"] = ["connection"] if action != "ssh_break_in_attempt" else ["info"]
        ev["action"] = action
        if outcome and action != "ssh_login":
            ev["outcome"] = outcome
    if user:
        rel["user"] = [user]
    h = doc.get("host")
    hosts = [h["name"]] if h is not None else []
    if src is not None:
        d = src.get("domain")
        if d and d not in hosts:
            hosts.append(d)
    if hosts:
        rel["hosts"] = hosts
    if rel:
        doc["related"] = rel


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    doc, app, msg = _srv_syslog.start_msg(line, ctx, "system.auth")
    prog = (app or "").lower()
    # The usual sshd line (a login) in one pass: what the handler loop below, then related(), give.
    if prog in _SSH_PROGRAMS and "system" not in doc and msg.startswith(_LOGIN_STARTS):
        m = _SSH_LOGIN.match(msg)
        if m is not None:
            _ssh_login(doc, m)
            return doc
    elif prog in _SSH_PROGRAMS and "system" not in doc:
        # The other sshd messages with a fixed first word (``_pam`` passes them on untouched).
        sp = msg.find(" ")
        for rule in _SSH_BY_WORD.get(msg[:sp] if sp >= 0 else msg, ()):
            m = rule[0].match(msg)
            if m is not None:
                _ssh_rule(doc, m, rule)
                return doc
    handled = False
    for handler in _BY_PROGRAM.get(prog, _GENERIC):
        if handler(doc, msg):
            handled = True
            break
    if not handled and (prog in _IAM_DEFAULT or prog in ("passwd", "chage", "gpasswd", "chpasswd")):
        handled = _iam(doc, msg, prog)
    if not handled and not prog:
        # No header (a message forwarded alone): try every family.
        for handler in (_sudo, _pam, _sshd):
            if handler(doc, msg):
                handled = True
                break
    if not handled:
        _other(doc, msg)
    _related(doc)
    return doc
