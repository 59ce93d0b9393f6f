"""Windows event shapes -> one ``winlog`` dict (Winlogbeat's layout).

Accepted shapes, all normalised by :func:`normalise` to
``{"winlog": {...}, "@timestamp": ..., "message": ...}``:

* Winlogbeat / Elastic Agent documents (``winlog.*`` already there);
* ``evtx_dump`` / ``evtx`` (Rust) JSON: ``{"Event": {"System": {...}, "EventData": {...}}}``
  (also what :mod:`connectors.evtx_reader` renders, and the Sigma regression samples);
* NXLog ``im_msvistalog`` JSON: flat ``EventID``, ``Channel``, ``SourceName``, ``Hostname``,
  EventData fields at top level;
* Wazuh ``{"win": {"system": {...}, "eventdata": {...}}}`` (first letter of EventData names
  lowered by Wazuh, restored here so Sigma field names match).

EventData names and values are kept as Windows wrote them (values as strings,
as Winlogbeat does): the Sigma engine maps ``Image``, ``CommandLine``... onto
``winlog.event_data.<Name>``.
"""

from __future__ import annotations

from typing import Any

#: NXLog fields that are not EventData.
_NXLOG_STD = frozenset({
    "EventTime", "EventTimeWritten", "Hostname", "Keywords", "EventType", "SeverityValue", "Severity",
    "EventID", "SourceName", "ProviderGuid", "Version", "Task", "OpcodeValue", "RecordNumber", "ActivityID",
    "RelatedActivityID", "ProcessID", "ThreadID", "Channel", "Message", "Category", "Opcode", "Domain",
    "AccountName", "UserID", "AccountType", "EventReceivedTime", "SourceModuleName", "SourceModuleType",
    "Level", "ERRORLEVEL", "Qualifiers", "MessageSourceAddress", "FileName", "EventData", "UserData",
})


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        if "#text" in v:
            return _s(v["#text"])
        return ""
    if isinstance(v, list):
        return ", ".join(_s(x) for x in v)
    return str(v)


def _attrs(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        a = v.get("#attributes")
        if isinstance(a, dict):
            return a
    return {}


def _event_data(ed: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(ed, dict):
        if isinstance(ed, str | int | float) and ed != "":
            out["param1"] = _s(ed)
        return out
    n = 0
    for k, v in ed.items():
        if k == "#attributes":
            continue
        if k == "Data":
            # Unnamed <Data> elements: one value or a list -> param1..N (as Winlogbeat).
            vals = v if isinstance(v, list) else [v]
            for item in vals:
                if isinstance(item, dict) and "#attributes" in item and "Name" in item["#attributes"]:
                    out[str(item["#attributes"]["Name"])] = _s(item.get("#text"))
                    continue
                n += 1
                out[f"param{n}"] = _s(item)
            continue
        out[str(k)] = _s(v)
    return out


def _from_event_xml_json(ev: dict[str, Any]) -> dict[str, Any]:
    system = ev.get("System") or {}
    if not isinstance(system, dict):
        raise ValueError("Event.System is not an object")
    win: dict[str, Any] = {}
    prov = _attrs(system.get("Provider"))
    if prov.get("Name"):
        win["provider_name"] = str(prov["Name"])
    if prov.get("Guid"):
        win["provider_guid"] = str(prov["Guid"])
    if prov.get("EventSourceName"):
        win["event_source_name"] = str(prov["EventSourceName"])
    eid = system.get("EventID")
    if eid is not None:
        win["event_id"] = _s(eid).strip()
    for tag, key in (("Version", "version"), ("Level", "level"), ("Task", "task"), ("Opcode", "opcode"),
                     ("Keywords", "keywords"), ("EventRecordID", "record_id"), ("Channel", "channel"),
                     ("Computer", "computer_name")):
        v = system.get(tag)
        if v is not None and _s(v) != "":
            win[key] = _s(v)
    ex = _attrs(system.get("Execution"))
    proc: dict[str, Any] = {}
    if str(ex.get("ProcessID", "")).isdigit():
        proc["pid"] = int(ex["ProcessID"])
    if str(ex.get("ThreadID", "")).isdigit():
        proc["thread"] = {"id": int(ex["ThreadID"])}
    if proc:
        win["process"] = proc
    sec = _attrs(system.get("Security"))
    if sec.get("UserID"):
        win["user"] = {"identifier": str(sec["UserID"])}
    corr = _attrs(system.get("Correlation"))
    if corr.get("ActivityID"):
        win["activity_id"] = str(corr["ActivityID"])
    out: dict[str, Any] = {"winlog": win}
    tc = _attrs(system.get("TimeCreated"))
    if tc.get("SystemTime"):
        out["@timestamp"] = str(tc["SystemTime"])
    ed = _event_data(ev.get("EventData"))
    if ed:
        win["event_data"] = ed
    ud = ev.get("UserData")
    if isinstance(ud, dict) and ud:
        name, inner = next(iter(ud.items()))
        if isinstance(inner, dict):
            win["user_data"] = {k: (_s(v) if not isinstance(v, dict | list) else v)
                                for k, v in inner.items() if k != "#attributes"}
            win["user_data"]["xml_name"] = name
    rendered = ev.get("RenderingInfo")
    if isinstance(rendered, dict) and rendered.get("Message"):
        out["message"] = _s(rendered["Message"])
    return out


def _from_nxlog(d: dict[str, Any]) -> dict[str, Any]:
    win: dict[str, Any] = {"event_id": _s(d.get("EventID")).strip()}
    for src, key in (("Channel", "channel"), ("SourceName", "provider_name"), ("ProviderGuid", "provider_guid"),
                     ("Hostname", "computer_name"), ("RecordNumber", "record_id"), ("Keywords", "keywords"),
                     ("Task", "task"), ("Version", "version"), ("OpcodeValue", "opcode"), ("Opcode", "opcode_name"),
                     ("Category", "task_name")):
        if d.get(src) not in (None, ""):
            win[key] = _s(d[src])
    proc: dict[str, Any] = {}
    if str(d.get("ProcessID", "")).isdigit():
        proc["pid"] = int(d["ProcessID"])
    if str(d.get("ThreadID", "")).isdigit():
        proc["thread"] = {"id": int(d["ThreadID"])}
    if proc:
        win["process"] = proc
    if d.get("UserID"):
        win["user"] = {"identifier": _s(d["UserID"])}
        if d.get("AccountName"):
            win["user"]["name"] = _s(d["AccountName"])
        if d.get("Domain"):
            win["user"]["domain"] = _s(d["Domain"])
    et = _s(d.get("EventType")).upper()
    if et in ("AUDIT_SUCCESS", "AUDIT_FAILURE"):
        win["outcome"] = "success" if et == "AUDIT_SUCCESS" else "failure"
    ed = {str(k): _s(v) for k, v in d.items() if k not in _NXLOG_STD}
    if isinstance(d.get("EventData"), dict):
        ed.update(_event_data(d["EventData"]))
    if ed:
        win["event_data"] = ed
    out: dict[str, Any] = {"winlog": win}
    if d.get("EventTime"):
        out["@timestamp"] = _s(d["EventTime"])
        out["_naive_time"] = True
    if d.get("Message"):
        out["message"] = _s(d["Message"])
    return out


def _from_wazuh(w: dict[str, Any]) -> dict[str, Any]:
    system = w.get("system") or {}
    if not isinstance(system, dict):
        raise ValueError("win.system is not an object")
    win: dict[str, Any] = {}
    for src, key in (("eventID", "event_id"), ("channel", "channel"), ("providerName", "provider_name"),
                     ("providerGuid", "provider_guid"), ("computer", "computer_name"),
                     ("eventRecordID", "record_id"), ("keywords", "keywords"), ("task", "task"),
                     ("level", "level"), ("opcode", "opcode"), ("version", "version")):
        if system.get(src) not in (None, ""):
            win[key] = _s(system[src])
    proc: dict[str, Any] = {}
    if str(system.get("processID", "")).isdigit():
        proc["pid"] = int(system["processID"])
    if str(system.get("threadID", "")).isdigit():
        proc["thread"] = {"id": int(system["threadID"])}
    if proc:
        win["process"] = proc
    ed_in = w.get("eventdata") or {}
    if isinstance(ed_in, dict):
        ed = {(k[:1].upper() + k[1:]) if k else k: _s(v) for k, v in ed_in.items()}
        if ed:
            win["event_data"] = ed
    sv = _s(system.get("severityValue")).upper()
    if sv in ("AUDIT_SUCCESS", "AUDIT_FAILURE"):
        win["outcome"] = "success" if sv == "AUDIT_SUCCESS" else "failure"
    out: dict[str, Any] = {"winlog": win}
    if system.get("systemTime"):
        out["@timestamp"] = _s(system["systemTime"])
    if system.get("message"):
        out["message"] = _s(system["message"]).strip('"')
    return out


def normalise(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Return ``{"winlog": {...}, "@timestamp"?, "message"?}`` or ``None`` if ``obj`` is no Windows event."""
    win = obj.get("winlog")
    if isinstance(win, dict) and (win.get("event_id") is not None or win.get("channel")):
        out: dict[str, Any] = {"winlog": dict(win)}
        w = out["winlog"]
        if w.get("event_id") is not None:
            w["event_id"] = _s(w["event_id"]).strip()
        if isinstance(w.get("event_data"), dict):
            w["event_data"] = {str(k): _s(v) for k, v in w["event_data"].items()}
        elif w.get("event_data") is not None:
            raise ValueError("winlog.event_data is not an object")
        if w.get("user_data") is not None and not isinstance(w["user_data"], dict):
            raise ValueError("winlog.user_data is not an object")
        if not w.get("event_id") and not w.get("channel"):
            raise ValueError("winlog has neither an event_id nor a channel")
        ts = obj.get("@timestamp")
        if ts:
            out["@timestamp"] = _s(ts)
        if obj.get("message"):
            out["message"] = _s(obj["message"])
        host = obj.get("host")
        if isinstance(host, dict) and host.get("name") and not w.get("computer_name"):
            w["computer_name"] = _s(host["name"])
        return out
    ev = obj.get("Event")
    if isinstance(ev, dict) and "System" in ev:
        return _from_event_xml_json(ev)
    wz = obj.get("win")
    if isinstance(wz, dict) and "system" in wz:
        return _from_wazuh(wz)
    if "EventID" in obj and ("Channel" in obj or "SourceName" in obj):
        return _from_nxlog(obj)
    return None
