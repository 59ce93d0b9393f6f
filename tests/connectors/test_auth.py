"""``auth`` parser: sshd, sudo, su, PAM, account management, systemd-logind."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, detect, parse_line

CTX = ParseContext(received=datetime(2024, 6, 1, tzinfo=UTC))


def one(line: str) -> dict:
    return parse_line("auth", line, CTX)[0]


def test_accepted_publickey() -> None:
    d = one("Feb 21 21:54:44 web01 sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: "
            "RSA SHA256:abc")
    assert d["@timestamp"] == "2024-02-21T14:54:44.000Z"  # no zone: the source's, Vietnam (+07:00)
    assert d["event"]["dataset"] == "system.auth" and d["event"]["action"] == "ssh_login"
    assert d["event"]["category"] == ["authentication", "session"] and d["event"]["outcome"] == "success"
    assert d["user"]["name"] == "vagrant"
    assert d["source"] == {"address": "10.0.2.2", "ip": "10.0.2.2", "port": 63673}
    assert d["process"] == {"name": "sshd", "pid": 3402} and d["host"]["name"] == "web01"
    assert d["system"]["auth"]["ssh"] == {"event": "Accepted", "method": "publickey", "signature": "RSA SHA256:abc"}
    assert d["related"]["user"] == ["vagrant"] and d["related"]["ip"] == ["10.0.2.2"]


@pytest.mark.parametrize(("line", "user", "ip"), [
    ("Failed password for invalid user admin from 1.2.3.4 port 22 ssh2", "admin", "1.2.3.4"),
    ("Failed password for root from 1.2.3.4 port 22 ssh2", "root", "1.2.3.4"),
    ("Invalid user oracle from 1.2.3.4 port 4444", "oracle", "1.2.3.4"),
    ("error: maximum authentication attempts exceeded for invalid user badguy from 1.2.3.4 port 55146 ssh2 "
     "[preauth]", "badguy", "1.2.3.4"),
    ("User root from 1.2.3.4 not allowed because listed in DenyUsers", "root", "1.2.3.4"),
])
def test_ssh_failures(line: str, user: str, ip: str) -> None:
    d = one(f"Mar  3 10:56:18 h sshd[1]: {line}")
    assert d["event"]["outcome"] == "failure" and d["event"]["category"] == ["authentication"]
    assert d["user"]["name"] == user and d["source"]["ip"] == ip


def test_ssh_connection_events() -> None:
    d = one("Dec 10 09:32:20 LabSZ sshd[24680]: Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]")
    assert d["event"]["action"] == "ssh_disconnect" and d["source"]["ip"] == "52.80.34.196"
    assert d["system"]["auth"]["ssh"]["disconnect"] == {"code": "11", "reason": "Bye Bye"}
    d = one("Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.example.com "
            "[173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!")
    assert d["event"]["action"] == "ssh_break_in_attempt" and d["source"]["domain"] == "ns.example.com"
    d = one("Feb 19 15:30:04 slave22 sshd[18406]: Did not receive identification string from 89.160.20.156")
    assert d["system"]["auth"]["ssh"]["dropped_ip"] == "89.160.20.156"


def test_sudo() -> None:
    d = one("Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/vagrant ; "
            "USER=root ; COMMAND=/bin/ls -la /root")
    assert d["user"]["name"] == "tsg" and d["user"]["effective"]["name"] == "root"
    assert d["system"]["auth"]["sudo"] == {"tty": "pts/1", "pwd": "/home/vagrant", "user": "root",
                                           "command": "/bin/ls -la /root", "error": "user NOT in sudoers"}
    assert d["event"]["category"] == ["process"] and d["event"]["outcome"] == "failure"
    d = one("2026-08-14T11:03:49.000000+00:00 host01 sudo[3843970]: root : TTY=pts/2 ; PWD=/home ; USER=root ; "
            "COMMAND=/bin/systemctl --now stop rsyslog.service")
    assert d["event"]["action"] == "service-stop" and d["service"]["name"] == "rsyslog"
    assert d["event"]["type"] == ["end"] and d["@timestamp"] == "2026-08-14T11:03:49.000Z"


def test_sudo_without_header() -> None:
    d = one("   testuser : TTY=none ; PWD=/ ; USER=root ; COMMAND=/usr/bin/id -u")
    assert d["process"]["name"] == "sudo" and d["system"]["auth"]["sudo"]["command"] == "/usr/bin/id -u"


def test_pam() -> None:
    d = one("Jun  2 19:08:43 h sudo[654321]: pam_unix(sudo:auth): authentication failure; logname=bob uid=1117 "
            "euid=0 tty=/dev/pts/1 ruser=alice rhost= user=root")
    assert d["event"]["action"] == "authentication_failure" and d["event"]["outcome"] == "failure"
    assert d["user"]["name"] == "alice" and d["user"]["id"] == "1117"
    assert d["user"]["effective"] == {"name": "root", "id": "0"}
    assert d["system"]["auth"]["pam"] == {"module": "pam_unix", "service": "sudo", "type": "auth",
                                          "tty": "/dev/pts/1"}
    d = one("Mar 15 10:30:01 w sshd[12345]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
            "tty=ssh ruser= rhost=10.0.0.5  user=admin")
    assert d["user"]["name"] == "admin" and d["source"]["ip"] == "10.0.0.5"
    d = one("Nov 11 22:46:29 localhost su(pam_unix)[14592]: session opened for user news by (uid=0)")
    assert d["event"]["action"] == "session_opened" and d["user"]["name"] == "news"
    assert d["process"]["name"] == "su" and d["event"]["type"] == ["start"]
    d = one("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown")
    assert d["event"]["outcome"] == "failure"
    d = one("2026-05-17T17:57:47.009102+00:00 h passwd[9]: pam_unix(passwd:chauthtok): password changed for bob")
    assert d["event"]["action"] == "password-changed" and d["user"]["target"]["name"] == "bob"


def test_su() -> None:
    d = one("Apr 22 17:51:51 enigma su: dcid to root on /dev/ttyp1")
    assert (d["user"]["name"], d["user"]["effective"]["name"], d["event"]["outcome"]) == ("dcid", "root", "success")
    d = one("Apr 27 15:22:23 niban su[234]: BAD SU ger to fwmaster on /dev/ttyp0")
    assert d["event"]["outcome"] == "failure" and d["user"]["name"] == "ger"
    d = one("Apr 27 15:22:23 niban su[2921936]: failed: ttyq4 changing from ldap to root")
    assert d["event"]["outcome"] == "failure" and d["user"]["effective"]["name"] == "root"


@pytest.mark.parametrize(("line", "action", "etype", "fields"), [
    ("useradd[6995]: new user: name=apache, UID=48, GID=48, home=/usr/share/httpd, shell=/sbin/nologin",
     "user-created", ["user", "creation"], {"user.name": "apache", "user.id": "48", "group.id": "48"}),
    ("groupadd[6991]: new group: name=apache, GID=48", "group-created", ["group", "creation"],
     {"group.name": "apache", "group.id": "48"}),
    ("userdel[2848204]: delete user 'testuser1'", "user-deleted", ["user", "deletion"],
     {"user.target.name": "testuser1"}),
    ("groupdel[3870987]: group 'fleet' removed from /etc/gshadow", "group-deleted", ["group", "deletion"],
     {"group.name": "fleet"}),
    ("usermod[5678901]: add 'testuser' to group 'wheel'", "group-member-added", ["user", "change"],
     {"group.name": "wheel", "user.target.name": "testuser"}),
    ("gpasswd[1]: user eve added by root to group sudo", "group-member-added", ["user", "change"],
     {"group.name": "sudo", "user.target.name": "eve", "user.name": "root"}),
    ("passwd[1]: password for 'eve' changed by 'root'", "password-changed", ["change"],
     {"user.target.name": "eve", "user.name": "root"}),
])
def test_account_management(line: str, action: str, etype: list[str], fields: dict[str, str]) -> None:
    from soc import ecs

    d = one(f"Jul  1 10:56:50 host1 {line}")
    assert d["event"]["action"] == action and d["event"]["type"] == etype
    assert d["event"]["category"] == ["iam"] and d["event"]["outcome"] == "success"
    for k, v in fields.items():
        assert ecs.get(d, k) == v, k


def test_logind_and_other_programs() -> None:
    d = one("Jan  2 10:00:00 h systemd-logind[512]: New session 42 of user bob.")
    assert d["event"]["action"] == "session_opened" and d["user"]["name"] == "bob"
    assert d["system"]["auth"]["session"]["id"] == "42"
    d = one("Jun 15 04:06:18 combo klogind[19287]: Authentication failed from 163.27.187.39 (163.27.187.39): "
            "Permission denied in replay cache code")
    assert d["event"]["outcome"] == "failure" and d["source"]["ip"] == "163.27.187.39"
    d = one("Jan  2 10:00:00 h kernel: eth0: link up")
    assert "category" not in d["event"] and d["message"] == "eth0: link up"


def test_rfc5424_header() -> None:
    d = one("<30>1 2023-09-28T12:10:12.175599+02:00 test.lab.com sshd 153589 - - Accepted password for a from "
            "10.0.0.1 port 2 ssh2")
    assert d["@timestamp"] == "2023-09-28T10:10:12.175Z" and d["process"]["pid"] == 153589
    assert d["log"]["syslog"]["severity"]["name"] == "informational" and d["user"]["name"] == "a"


def test_empty_line_rejected() -> None:
    with pytest.raises(ParseError):
        one("   ")


def test_sniff() -> None:
    assert detect("Feb 21 21:54:44 h sshd[3402]: Accepted password for a from 1.2.3.4 port 1 ssh2") == "auth"
    assert detect("Feb 21 21:54:44 h cron[1]: (root) CMD (x)") == "syslog"


def test_fast_related_matches_soc_ecs() -> None:
    """``_srv_ecs.related`` (hot path) fills related.* exactly as ``soc.ecs.add_related``."""
    import copy

    from connectors.parsers import _srv_ecs
    from soc import ecs
    from tests.connectors.test_fuzz_servers import REAL

    n = 0
    for fmt in ("squid", "nginx", "apache", "auth", "auditd", "winlog"):
        for line in REAL:
            try:
                doc = parse_line(fmt, line, CTX)[0]
            except ParseError:
                continue
            doc.pop("related", None)
            a, b = copy.deepcopy(doc), copy.deepcopy(doc)
            ecs.add_related(a)
            _srv_ecs.related(b)
            assert a.get("related") == b.get("related"), line
            n += 1
    assert n > 100


def _sample_auth_lines() -> list[str]:
    """Real auth lines (loghub OpenSSH/Linux, Elastic's system/auth tests) and the fuzz corpus."""
    from tests.connectors.elastic_compare import SHARED
    from tests.connectors.test_fuzz_servers import REAL

    lines = list(REAL)
    for rel in ("loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log"):
        p = SHARED / "logs" / rel
        if p.is_file():
            lines += p.read_text(errors="replace").splitlines()
    for p in sorted((SHARED / "logs" / "elastic" / "system" / "auth").glob("*.log")):
        lines += p.read_text(errors="replace").splitlines()
    return lines


def test_sshd_first_word_dispatch_matches_trying_every_pattern() -> None:
    """``_sshd`` tries only the patterns for the message's first word: on every sample message the
    pattern it picks is the first of the whole list (login pattern, table, generic) that matches."""
    from connectors.parsers import auth
    from connectors.parsers._srv_syslog import fast_split

    def first_match_all(msg: str) -> re.Pattern[str] | None:
        for rx in [auth._SSH_LOGIN, *(r[0] for r in auth._SSH_TABLE), auth._SSH_GENERIC]:
            if rx.match(msg):
                return rx
        return None

    def first_match_dispatch(msg: str) -> re.Pattern[str] | None:
        word = msg.split(" ", 1)[0]
        cands = [auth._SSH_LOGIN] if word in auth._SSH_LOGIN_WORDS else [r[0] for r in auth._SSH_BY_WORD.get(word, ())]
        for rx in [*cands, auth._SSH_GENERIC]:
            if rx.match(msg):
                return rx
        return None

    msgs = {fast_split(line, CTX).message for line in _sample_auth_lines()}
    # Each pattern's own first words, followed by text it accepts or not.
    msgs |= {f"{w} {tail}" for w in ("Accepted", "Failed", "Invalid", "invalid", "error:", "fatal:", "Received",
                                     "Connection", "User", "Address", "Unable", "Bad", "Read", "Did", "subsystem",
                                     "reverse", "Disconnected", "input_userauth_request:", "Postponed", "x")
             for tail in ("user root from 1.2.3.4 port 22", "disconnect from 1.2.3.4 port 2:11: bye",
                          "to negotiate with 1.2.3.4 port 22: no", "closed by 1.2.3.4 port 9 [preauth]")}
    checked = 0
    for msg in msgs:
        assert first_match_dispatch(msg) is first_match_all(msg), msg
        checked += first_match_all(msg) is not None
    assert checked > 500
    # Every table pattern is reachable through the dispatch.
    assert {r[0] for rules in auth._SSH_BY_WORD.values() for r in rules} == {r[0] for r in auth._SSH_TABLE}


def test_fast_start_matches_general_path() -> None:
    """``_srv_syslog.start``'s fast path builds the same document and header as the general path."""
    from datetime import timedelta, timezone

    from connectors.parsers import _srv_syslog

    lines = _sample_auth_lines() + ["<13>Jan  2 10:00:00 h sshd[1]: x", "<999>Jan  2 10:00:00 h a[-]: x",
                                    "<191>Feb 29 12:00:00 h a[]: y", "Dec 31 23:59:59 h a: [ID 800047 auth.notice] z"]
    n = 0
    for received in (datetime(2024, 6, 1, tzinfo=UTC), datetime(2025, 1, 1, 2, tzinfo=UTC),
                     datetime(2024, 12, 31, 23, tzinfo=timezone(timedelta(hours=-9)))):
        for tz in (UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-11))):
            ctx = ParseContext(tz=tz, received=received)
            for line in lines:
                if not line.strip():
                    continue
                fast = _srv_syslog.start(line, ctx, "system.auth")
                slow = _srv_syslog._slow_start(line.rstrip("\r\n"), ctx, "system.auth", "system")
                assert fast == slow, (line, received, tz)
                n += 1
    assert n > 1000


def test_pid_with_non_decimal_digit_is_not_a_crash() -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: such a pid stays a string, the line parses."""
    d = one("Mar  3 10:56:18 h sshd[1²]: Accepted password for a from 1.2.3.4 port 22 ssh2")
    assert d["process"] == {"name": "sshd"} and d["log"]["syslog"]["procid"] == "1²"
    assert d["user"]["name"] == "a"


def _general_auth(line: str, ctx: ParseContext) -> dict:
    """``auth.parse`` without its one-pass sshd login path: the handler loop, then ``related``."""
    from connectors.parsers import _srv_ecs, _srv_syslog, auth

    doc, sl = _srv_syslog.start(line, ctx, "system.auth")
    for handler in auth._BY_PROGRAM[(sl.appname or "").lower()]:
        if handler(doc, sl.message):
            break
    _srv_ecs.related(doc)
    return doc


def test_ssh_login_one_pass_matches_handler_path() -> None:
    """The one-pass sshd login path gives the document (key order included) that ``_sshd`` and
    ``_srv_ecs.related`` give, for real lines and for addresses, users and headers it must not
    get wrong (a host name or "-" for the address, an empty user, IPv6, ``::ffff:`` mapped, no
    host in the header, the old ``sshd(pam_unix)`` tag)."""
    import json

    from connectors.parsers import auth

    msgs = [ln.split(": ", 1)[1] for ln in _sample_auth_lines()
            if ": " in ln and ln.split(": ", 1)[1].startswith(("Accepted ", "Failed ", "Postponed "))]
    msgs += [f"{ev} {how} for {user}from {ip} port {port}{tail}"
             for ev in ("Accepted", "Failed", "Postponed") for how in ("password", "keyboard-interactive/pam")
             for user in ("root ", "invalid user bob ", "", "a b ", "web01 ")
             for ip in ("1.2.3.4", "::1", "::ffff:10.0.0.1", "web01", "gw.example.org", "-", "[fe80::1]")
             for port in ("22", "123456") for tail in ("", " ssh2", " ssh2: RSA SHA256:x", " [preauth]")]
    headers = ["Mar  3 10:56:18 web01 sshd[12]: ", "<38>Mar  3 10:56:18 web01 sshd-session[7]: ",
               "Mar  3 10:56:18 sshd[12]: ", "2024-03-03T10:56:18+07:00 gw.example.org sshd[3]: ",
               "Mar  3 10:56:18 web01 sshd(pam_unix)[12]: ", "Mar  3 10:56:18 web01 SSHD: "]
    fast = 0
    for header in headers:
        for msg in msgs:
            line = header + msg
            got = auth.parse(line, CTX)
            assert json.dumps(got) == json.dumps(_general_auth(line, CTX)), line
            fast += "system" in got and "pam" not in got["system"]["auth"] and got["event"].get("action") == "ssh_login"
    assert fast > 1000


def test_start_msg_matches_start() -> None:
    """``start_msg`` returns ``start``'s document, program and message."""
    from connectors.parsers import _srv_syslog

    for line in _sample_auth_lines() + ["<13>Jan  2 10:00:00 h sshd[1]: x", "Jan  2 10:00:00 h -: x"]:
        if not line.strip():
            with pytest.raises(ParseError):
                _srv_syslog.start_msg(line, CTX, "system.auth")
            continue
        doc, sl = _srv_syslog.start(line, CTX, "system.auth")
        assert _srv_syslog.start_msg(line, CTX, "system.auth") == (doc, sl.appname, sl.message), line


def _reference_auth(line: str, ctx: ParseContext) -> dict:
    """``auth.parse`` without its one-pass sshd paths and with the general ``_srv_ecs.related``."""
    from connectors.parsers import _srv_ecs, _srv_syslog, auth

    doc, app, msg = _srv_syslog.start_msg(line, ctx, "system.auth")
    prog = (app or "").lower()
    handled = any(h(doc, msg) for h in auth._BY_PROGRAM.get(prog, auth._GENERIC))
    if not handled and (prog in auth._IAM_DEFAULT or prog in ("passwd", "chage", "gpasswd", "chpasswd")):
        handled = auth._iam(doc, msg, prog)
    if not handled and not prog:
        handled = any(h(doc, msg) for h in (auth._sudo, auth._pam, auth._sshd))
    if not handled:
        auth._other(doc, msg)
    _srv_ecs.related(doc)
    return doc


def test_ssh_rule_one_pass_and_related_match_general_path() -> None:
    """The one-pass path for the other sshd messages (``Received disconnect``, ``Invalid user``,
    ``reverse mapping``...) and auth's own ``_related`` give the document (key order included) that
    the handler loop and ``_srv_ecs.related`` give: every sample line, and each table pattern's
    first words with host names, "-", IPv6 and empty users, under several headers."""
    import json

    from connectors.parsers import auth

    lines = [ln for ln in _sample_auth_lines() if ln.strip()]
    tails = ["user root from 1.2.3.4 port 22", "user  from web01 port 22 [preauth]",
             "disconnect from ::1 port 2:11: bye [preauth]", "disconnect from h.example: 3: ",
             "closed by invalid user bob 10.0.0.1 port 9 [preauth]", "reset by - port 1",
             "mapping checking getaddrinfo for gw.example [1.2.3.4] failed - POSSIBLE BREAK-IN ATTEMPT!",
             "1.2.3.4 maps to web01, but this does not map back to the address",
             "to negotiate with [fe80::1] port 22: no matching", "user bob from ::ffff:10.0.0.1",
             "invalid user bob [preauth]", "receive identification string from 1.2.3.4 port 5",
             "request for sftp by user bob", "protocol version identification 'x' from web01 port 2",
             "error from remote host 1.2.3.4 port 3: reset", "maximum authentication attempts exceeded for "
             "invalid user x from 1.2.3.4 port 2 ssh2 [preauth]", "bob from 1.2.3.4 not allowed because none"]
    words = sorted({w for ws in auth._SSH_FIRST_WORDS.values() for w in ws})
    msgs = [f"{w} {t}" for w in words for t in tails] + ["Received disconnect from 1.2.3.4 port 2:11: x",
                                                          "error: Received disconnect from -: 11: y"]
    headers = ["Mar  3 10:56:18 web01 sshd[12]: ", "<38>Mar  3 10:56:18 web01 sshd-session[7]: ",
               "Mar  3 10:56:18 sshd[12]: ", "2024-03-03T10:56:18+07:00 gw.example sshd[3]: ",
               "Mar  3 10:56:18 web01 sshd(pam_unix)[12]: ", "Mar  3 10:56:18 web01 SSHD: "]
    lines += [h + m for h in headers for m in msgs]
    rule_hits = 0
    for line in lines:
        try:
            want = json.dumps(_reference_auth(line, CTX))
        except ParseError:
            with pytest.raises(ParseError):
                auth.parse(line, CTX)
            continue
        got = auth.parse(line, CTX)
        assert json.dumps(got) == want, line
        rule_hits += got["event"].get("action", "").startswith("ssh_") and "related" in got
    assert rule_hits > 1000
