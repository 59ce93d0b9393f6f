"""``winlog`` parser: Winlogbeat, NXLog, evtx JSON and Wazuh shapes; ECS mapping; EventData kept verbatim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.parsers import ParseContext, ParseError, detect, parse_line
from tests.connectors.elastic_compare import SHARED

CTX = ParseContext()
REGRESSION = SHARED / "sigma" / "regression_data"


def one(obj: dict | str) -> dict:
    return parse_line("winlog", obj if isinstance(obj, str) else json.dumps(obj), CTX)[0]


def winlogbeat(event_id: int, channel: str, data: dict, provider: str = "Microsoft-Windows-Security-Auditing",
               **extra: object) -> dict:
    return {"@timestamp": "2024-05-01T10:00:00.123Z", "host": {"name": "DC01.hp.gov.vn"},
            "winlog": {"event_id": event_id, "channel": channel, "provider_name": provider,
                       "computer_name": "DC01.hp.gov.vn", "record_id": 77, "event_data": data, **extra}}


def test_4624_logon() -> None:
    d = one(winlogbeat(4624, "Security", {"TargetUserName": "nam", "TargetDomainName": "HP", "LogonType": "10",
                                          "IpAddress": "::ffff:10.1.2.3", "IpPort": "50122", "TargetLogonId": "0x3e7",
                                          "WorkstationName": "PC7", "ProcessName": "C:\\Windows\\System32\\svchost.exe",
                                          "ProcessId": "0x2b0"}, keywords=["Audit Success"]))
    assert d["@timestamp"] == "2024-05-01T10:00:00.123Z" and d["host"]["name"] == "DC01.hp.gov.vn"
    assert d["event"]["code"] == "4624" and d["winlog"]["event_id"] == "4624"
    assert d["event"]["dataset"] == "windows.security" and d["event"]["module"] == "windows"
    assert (d["event"]["action"], d["event"]["outcome"], d["event"]["category"]) == (
        "logged-in", "success", ["authentication"])
    assert d["user"] == {"name": "nam", "domain": "HP"}
    assert d["source"]["ip"] == "10.1.2.3" and d["source"]["port"] == 50122
    assert d["winlog"]["logon"] == {"type": "RemoteInteractive", "id": "0x3e7"}
    assert d["process"]["pid"] == 0x2B0 and d["process"]["name"] == "svchost.exe"
    assert d["winlog"]["event_data"]["LogonType"] == "10"  # original kept for Sigma


def test_4625_nxlog_flat() -> None:
    d = one({"EventTime": "2024-05-01 17:00:00", "Hostname": "WS1", "EventType": "AUDIT_FAILURE", "EventID": 4625,
             "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security", "RecordNumber": 5,
             "Message": "An account failed to log on.", "TargetUserName": "admin", "IpAddress": "203.0.113.9",
             "LogonType": "3", "Status": "0xc000006d", "SubStatus": "0xc000006a", "EventReceivedTime": "x"})
    assert d["@timestamp"] == "2024-05-01T10:00:00.000Z"  # NXLog local time read in the source's zone (+07:00)
    assert d["event"]["outcome"] == "failure" and d["event"]["action"] == "logon-failed"
    assert d["winlog"]["event_data"] == {"TargetUserName": "admin", "IpAddress": "203.0.113.9", "LogonType": "3",
                                         "Status": "0xc000006d", "SubStatus": "0xc000006a"}
    assert d["winlog"]["logon"]["failure"]["sub_status"] == "0xc000006a"
    assert d["message"] == "An account failed to log on." and d["host"]["name"] == "WS1"


def test_4688_and_iam() -> None:
    d = one(winlogbeat(4688, "Security", {"SubjectUserName": "nam", "NewProcessName": "C:\\Windows\\cmd.exe",
                                          "NewProcessId": "0x1a4", "CommandLine": "cmd /c whoami",
                                          "ParentProcessName": "C:\\Windows\\explorer.exe", "ProcessId": "0x10"}))
    assert d["process"]["command_line"] == "cmd /c whoami" and d["process"]["pid"] == 0x1A4
    assert d["process"]["parent"]["name"] == "explorer.exe" and d["event"]["type"] == ["start"]
    d = one(winlogbeat(4732, "Security", {"SubjectUserName": "admin", "TargetUserName": "Administrators",
                                          "MemberName": "CN=Eve,OU=Users,DC=hp,DC=vn", "MemberSid": "S-1-5-21-1"}))
    assert d["group"]["name"] == "Administrators" and d["user"]["target"]["name"] == "Eve"
    assert d["event"]["action"] == "added-member-to-group" and d["event"]["category"] == ["iam"]
    d = one(winlogbeat(4720, "Security", {"SubjectUserName": "admin", "TargetUserName": "eve"}))
    assert d["event"]["type"] == ["user", "creation"] and d["user"]["target"]["name"] == "eve"
    assert set(d["related"]["user"]) == {"admin", "eve"}


def test_log_cleared_and_service_install() -> None:
    d = one(winlogbeat(1102, "Security", {}, provider="Microsoft-Windows-Eventlog",
                       user_data={"SubjectUserName": "admin", "SubjectDomainName": "HP", "xml_name": "LogFileCleared"}))
    assert d["event"]["action"] == "audit-log-cleared" and d["user"]["name"] == "admin"
    d = one(winlogbeat(7045, "System", {"ServiceName": "evil", "ImagePath": "C:\\Temp\\evil.exe",
                                        "ServiceType": "user mode service", "AccountName": "LocalSystem"},
                       provider="Service Control Manager"))
    assert d["event"]["dataset"] == "windows.system" and d["event"]["action"] == "service-installed"
    assert d["service"]["name"] == "evil" and d["file"]["path"] == "C:\\Temp\\evil.exe"


def _sysmon(eid: int, data: dict) -> dict:
    return winlogbeat(eid, "Microsoft-Windows-Sysmon/Operational", data, provider="Microsoft-Windows-Sysmon")


def test_sysmon() -> None:
    d = one(_sysmon(1, {"Image": "C:\\Windows\\System32\\rundll32.exe", "ProcessId": "4460",
                        "CommandLine": "rundll32 x.dll,Start", "ParentImage": "C:\\Windows\\explorer.exe",
                        "ParentProcessId": "100", "User": "HP\\nam", "ProcessGuid": "{a}",
                        "Hashes": "SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=01", "OriginalFileName": "RUNDLL32.EXE"}))
    assert d["event"]["dataset"] == "windows.sysmon_operational" and d["event"]["category"] == ["process"]
    assert d["process"]["name"] == "rundll32.exe" and d["process"]["pid"] == 4460
    assert d["process"]["hash"] == {"sha1": "ab", "md5": "cd", "sha256": "ef", "imphash": "01"}
    assert d["user"] == {"domain": "HP", "name": "nam"} and d["process"]["entity_id"] == "{a}"
    d = one(_sysmon(3, {"Image": "C:\\a.exe", "SourceIp": "10.0.0.5", "SourcePort": "5000",
                        "DestinationIp": "8.8.8.8", "DestinationPort": "53", "Protocol": "udp", "Initiated": "true"}))
    assert d["destination"]["ip"] == "8.8.8.8" and d["network"]["direction"] == "egress"
    assert d["network"]["transport"] == "udp"
    d = one(_sysmon(11, {"Image": "C:\\a.exe", "TargetFilename": "C:\\Users\\Public\\x.PS1"}))
    assert d["file"]["name"] == "x.PS1" and d["file"]["extension"] == "ps1"
    assert d["file"]["directory"] == "C:\\Users\\Public"
    d = one(_sysmon(13, {"EventType": "SetValue", "TargetObject": "HKLM\\SOFTWARE\\Run\\evil",
                         "Details": "C:\\evil.exe"}))
    assert d["registry"]["hive"] == "HKLM" and d["registry"]["key"] == "SOFTWARE\\Run"
    assert d["registry"]["value"] == "evil" and d["registry"]["data"]["strings"] == ["C:\\evil.exe"]
    d = one(_sysmon(22, {"QueryName": "evil.example", "QueryResults": "type:  5 a.example;::ffff:1.2.3.4;"}))
    assert d["dns"]["question"]["name"] == "evil.example" and d["dns"]["resolved_ip"] == ["1.2.3.4"]


def test_wazuh_shape_restores_names() -> None:
    d = one({"win": {"system": {"providerName": "Microsoft-Windows-Sysmon", "eventID": "1",
                                "channel": "Microsoft-Windows-Sysmon/Operational", "computer": "PC1",
                                "systemTime": "2021-01-01T00:00:00.000Z"},
                     "eventdata": {"image": "C:\\x.exe", "commandLine": "x -y"}}})
    assert d["winlog"]["event_data"] == {"Image": "C:\\x.exe", "CommandLine": "x -y"}
    assert d["process"]["command_line"] == "x -y"


@pytest.mark.parametrize("line", ["", "{}", "[1]", "{\"a\": 1}", "{bad json", "{\"Event\": {\"System\": 5}}",
                                  "{\"winlog\": {\"event_id\": {\"x\": 1}, \"event_data\": 3}}"])
def test_rejects(line: str) -> None:
    with pytest.raises(ParseError):
        parse_line("winlog", line, CTX)


def test_sniff() -> None:
    from connectors.parsers import winlog

    assert winlog.sniff(json.dumps(_sysmon(1, {})))
    # Without "@timestamp" the generic json format does not claim it first.
    assert detect(json.dumps({"EventID": 4624, "Channel": "Security", "TargetUserName": "a"})) == "winlog"
    assert detect(json.dumps({"Event": {"System": {"EventID": 1}}})) == "winlog"
    assert not winlog.sniff('{"message": "hello"}')


def _regression_events() -> list[tuple[Path, dict]]:
    out = []
    dec = json.JSONDecoder()
    for path in sorted(REGRESSION.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        i = 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                break
            obj, i = dec.raw_decode(text, i)
            out.append((path, obj))
    return out


def test_sigma_regression_json_all_parse() -> None:
    if not REGRESSION.is_dir():
        pytest.skip(f"Sigma regression data not found under {REGRESSION} (../shared is not checked out)")
    events = _regression_events()
    assert len(events) > 200
    for path, obj in events:
        d = one(obj)
        ev = obj["Event"]
        assert d["winlog"]["event_id"] == str(ev["System"]["EventID"]), path
        assert d["winlog"]["channel"] == ev["System"]["Channel"]
        original = ev.get("EventData") or {}
        for name, value in original.items():
            if name == "#attributes":
                continue
            expect = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
            assert d["winlog"]["event_data"][name] == expect, (path, name)


def test_winlogbeat_extra_fields_kept() -> None:
    obj = winlogbeat(4624, "Security", {"TargetUserName": "nam"})
    obj["agent"] = {"type": "winlogbeat", "version": "8.12.0"}
    obj["host"]["os"] = {"family": "windows"}
    obj["event"] = {"created": "2024-05-01T10:00:01Z", "action": "shipper-action"}
    d = one(obj)
    assert d["agent"] == {"type": "winlogbeat", "version": "8.12.0"}
    assert d["host"] == {"name": "DC01.hp.gov.vn", "os": {"family": "windows"}}
    assert d["event"]["created"] == "2024-05-01T10:00:01Z"
    assert d["event"]["action"] == "logged-in"  # ours wins


def test_defender_and_powershell() -> None:
    d = one(winlogbeat(1116, "Microsoft-Windows-Windows Defender/Operational",
                       {"Threat Name": "HackTool:Win64/Mikatz!dha", "Severity ID": "4",
                        "Process Name": "C:\\Windows\\explorer.exe", "Detection User": "HP\\admmig",
                        "Path": "file:_C:\\Users\\admmig\\Documents\\mimidrv.sys"},
                       provider="Microsoft-Windows-Windows Defender"))
    assert d["event"]["category"] == ["malware"] and d["event"]["action"] == "malware-detected"
    assert d["rule"]["name"] == "HackTool:Win64/Mikatz!dha" and d["event"]["severity"] == 4
    assert d["file"]["name"] == "mimidrv.sys" and d["user"] == {"domain": "HP", "name": "admmig"}
    d = one(winlogbeat(4104, "Microsoft-Windows-PowerShell/Operational",
                       {"MessageNumber": "1", "MessageTotal": "1", "ScriptBlockText": "IEX (New-Object Net.WebClient)",
                        "ScriptBlockId": "abc", "Path": ""}, provider="Microsoft-Windows-PowerShell"))
    assert d["event"]["dataset"] == "windows.powershell_operational"
    assert d["powershell"]["file"]["script_block_id"] == "abc"
    assert d["winlog"]["event_data"]["ScriptBlockText"] == "IEX (New-Object Net.WebClient)"
