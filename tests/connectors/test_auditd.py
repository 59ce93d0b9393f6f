"""``auditd`` parser: raw audit records, hex-decoded values, ECS mapping per record type."""

from __future__ import annotations

import pytest

from connectors.parsers import ParseContext, ParseError, detect, parse_line

CTX = ParseContext()


def one(line: str) -> dict:
    return parse_line("auditd", line, CTX)[0]


def test_user_login_failed() -> None:
    d = one("type=USER_LOGIN msg=audit(1485893634.892:18877101): pid=1455 uid=0 auid=4294967295 ses=4294967295 "
            "msg='op=login acct=\"testuser\" exe=\"/usr/sbin/sshd\" hostname=client.example.com "
            "addr=89.160.20.156 terminal=ssh res=failed'")
    assert d["@timestamp"] == "2017-01-31T20:13:54.892Z"
    assert d["event"]["action"] == "logged-in" and d["event"]["outcome"] == "failure"
    assert d["event"]["category"] == ["authentication"] and d["event"]["dataset"] == "auditd.log"
    assert d["user"]["name"] == "testuser" and d["source"]["ip"] == "89.160.20.156"
    assert d["process"] == {"pid": 1455, "executable": "/usr/sbin/sshd"}
    assert d["auditd"]["log"]["sequence"] == 18877101 and d["auditd"]["log"]["op"] == "login"
    assert d["auditd"]["log"]["record_type"] == "USER_LOGIN" and d["user"]["terminal"] == "ssh"


def test_syscall_ids() -> None:
    d = one('type=SYSCALL msg=audit(1479982525.380:50): arch=c000003e syscall=59 success=yes exit=0 a0=55 '
            'items=2 ppid=432 pid=3333 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
            'tty=pts0 ses=2 comm="cat" exe="/usr/bin/cat" key="etc_shadow"')
    assert d["process"]["name"] == "cat" and d["process"]["parent"]["pid"] == 432
    assert d["user"]["audit"]["id"] == "1000" and d["user"]["id"] == "0"
    assert d["user"]["effective"]["id"] == "0" and d["user"]["filesystem"]["group"]["id"] == "0"
    assert d["auditd"]["log"]["success"] is True and d["event"]["outcome"] == "success"
    assert d["auditd"]["log"]["key"] == "etc_shadow" and d["auditd"]["log"]["syscall"] == "59"


def test_hex_values_decoded() -> None:
    d = one("type=PROCTITLE msg=audit(1451781471.394:194440): proctitle=737368643A206275726E205B707269765D")
    assert d["auditd"]["log"]["proctitle"] == "sshd: burn [priv]"
    d = one("type=EXECVE msg=audit(1581371984.206:579393): argc=3 a0=\"ls\" a1=2D6C61 a2=\"/tmp\"")
    assert d["process"]["args"] == ["ls", "-la", "/tmp"] and d["process"]["args_count"] == 3
    d = one("type=USER_CMD msg=audit(1489519256.192:19600329): pid=4151 uid=497 auid=700 ses=11988 "
            "msg='cwd=\"/\" cmd=2F62696E2F6C73202D6C res=success'")
    assert d["process"]["args"] == ["/bin/ls", "-l"] and d["event"]["action"] == "ran-command"
    d = one("type=TTY msg=audit(1491924063.550:1065565): tty pid=1 uid=1000 auid=1000 ses=762 major=136 "
            "minor=0 comm=\"bash\" data=6C730D7F")
    assert d["auditd"]["log"]["data"] == "ls^M^?"


def test_unquoted_value_with_spaces_and_node() -> None:
    d = one("node=web01 type=ADD_GROUP msg=audit(1610903553.686:584): pid=2940 uid=0 auid=1000 ses=14 "
            "msg='op=adding group to /etc/group id=1004 exe=\"/usr/sbin/groupadd\" hostname=h addr=127.0.0.1 "
            "terminal=pts/2 res=success'")
    assert d["auditd"]["log"]["op"] == "adding group to /etc/group" and d["group"]["id"] == "1004"
    assert d["host"]["name"] == "web01" and d["event"]["type"] == ["group", "creation"]


def test_enriched_and_syslog_wrapped() -> None:
    d = one("type=SOCKADDR msg=audit(1666825569.818:23260118): saddr=0200\x1dSADDR={ saddr_fam=inet "
            "laddr=10.0.0.1 lport=22 }")
    assert d["auditd"]["log"]["laddr"] == "10.0.0.1" and d["auditd"]["log"]["lport"] == 22
    d = one("Jan  2 10:00:00 h audispd: type=DAEMON_START msg=audit(1450875964.131:8728): auditd start, ver=2.4 "
            "format=raw auid=4294967295 pid=1437 res=failed")
    assert d["event"]["action"] == "started-audit" and d["event"]["outcome"] == "failure"
    assert d["host"]["name"] == "h" and d["auditd"]["log"]["ver"] == "2.4"


@pytest.mark.parametrize("line", ["", "type=", "hello", "msg=audit(1.1:1): x", "type=X msg=audit(99999999999999:1): a"])
def test_rejects(line: str) -> None:
    with pytest.raises(ParseError):
        one(line)


def test_sniff() -> None:
    assert detect("type=CWD msg=audit(1481077231.371:479):  cwd=\"/home\"") == "auditd"


def test_crypto_session_peer_is_source() -> None:
    # sshd: addr/rport is the client, laddr/lport the server's own end.
    d = one("type=CRYPTO_SESSION msg=audit(1481077041.515:406): pid=1298 uid=0 auid=4294967295 ses=4294967295 "
            "msg='op=start direction=from-server cipher=aes128-ctr ksize=128 rport=63927 laddr=10.142.0.2 "
            "lport=22 exe=\"/usr/sbin/sshd\" hostname=? addr=89.160.20.156 terminal=? res=success'")
    assert d["source"] == {"address": "89.160.20.156", "ip": "89.160.20.156", "port": 63927}
    assert d["destination"] == {"address": "10.142.0.2", "ip": "10.142.0.2", "port": 22}
    assert sorted(d["related"]["ip"]) == ["10.142.0.2", "89.160.20.156"]


def test_repeated_key_keeps_every_value() -> None:
    d = one("type=USER_ACCT msg=audit(1610903553.814:593): pid=2948 uid=0 auid=1000 ses=14 msg='pam_tally2 "
            "uid=1004 reset=0 exe=\"/sbin/pam_tally2\" hostname=localhost addr=127.0.0.1 terminal=/dev/pts/2 "
            "res=success'")
    assert d["auditd"]["log"]["uid"] == ["0", "1004"]
    assert d["user"]["id"] == "1000" and d["process"]["pid"] == 2948  # ECS fields take the record's own key


def test_records_of_one_event_in_one_message_are_merged() -> None:
    msg = ("type=SYSCALL msg=audit(1481077231.371:479): arch=c000003e syscall=59 success=yes exit=0 a0=1def880 "
           "items=2 ppid=1299 pid=1360 auid=1000 uid=0 comm=\"auditctl\" exe=\"/sbin/auditctl\" key=\"k\"\n"
           "type=EXECVE msg=audit(1481077231.371:479): argc=3 a0=\"auditctl\" a1=\"-a\" a2=2D6C20782079\n"
           "type=CWD msg=audit(1481077231.371:479):  cwd=\"/home/some_user\"\n"
           "type=PATH msg=audit(1481077231.371:479): item=0 name=\"/sbin/auditctl\" inode=1 ouid=7 ogid=0")
    d = one(msg)
    assert d["event"]["action"] == "executed" and d["event"]["type"] == ["start"]
    assert d["process"]["args"] == ["auditctl", "-a", "-l x y"] and d["process"]["args_count"] == 3
    assert d["process"]["executable"] == "/sbin/auditctl" and d["process"]["working_directory"] == "/home/some_user"
    assert d["file"]["path"] == "/sbin/auditctl"
    # The first record's keys only: no EXECVE a0 over SYSCALL a0, no PATH owner as a user id.
    assert d["auditd"]["log"]["a0"] == "1def880" and "type" not in d["auditd"]["log"]
    assert "owner" not in d["user"] and d["event"]["original"] == msg
