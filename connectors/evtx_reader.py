"""Read Windows ``.evtx`` files into the winlog JSON shape the ``winlog`` parser takes.

:func:`iter_evtx` yields ``(record, None)`` for every record it could render and
``(None, reason)`` for every record (or chunk) it could not, and never raises
for a damaged file, so that the caller dead-letters the bad records and keeps
the good ones. Only a file that cannot be opened at all raises :class:`EvtxError`.

Each ``record`` is a plain dict shaped like Winlogbeat's output::

    {"@timestamp": "...Z", "host": {"name": computer},
     "winlog": {"channel", "event_id" (str), "provider_name", "provider_guid", "record_id",
                "computer_name", "level", "task", "opcode", "keywords", "version",
                "process": {"pid", "thread": {"id"}}, "user": {"identifier"},
                "event_data": {Name: value...}, "user_data": {...}}}

``event_data`` keeps every ``<Data Name=...>`` unchanged (unnamed ``<Data>``
become ``param1``, ``param2``... as Winlogbeat does), which is what the Sigma
field mapping relies on.

Two back ends: the ``evtx`` package (Rust, fast, renders every record of the
test corpus) when installed, else ``python-evtx`` (pure Python, about 30x slower
here, and it fails to render some records: ``NullTypeNode``/``OverrunBuffer``
errors on substitution arrays; those come back as errors). ``backend=`` forces one.
"""

from __future__ import annotations

import contextlib
import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - XML rendered by python-evtx from binary templates, no DTDs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["EvtxError", "iter_evtx", "record_line", "xml_to_record"]

_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
_PADDED_HEX = re.compile(r"0x0+([0-9a-fA-F]+)$")
_BRACED_GUID = re.compile(r"\{([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}$")


def _same_as_rust(value: str) -> str:
    """python-evtx renders HexInt64 zero-padded and GUIDs in braces; the Rust reader (and the
    evtx_dump JSON the Sigma samples come as) does not: use one rendering whatever the back end."""
    m = _PADDED_HEX.match(value)
    if m:
        return "0x" + m.group(1)
    m = _BRACED_GUID.match(value)
    return m.group(1) if m else value


class EvtxError(OSError):
    """The file cannot be opened as an EVTX file at all."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    t = el.text
    return t if t is not None and t != "" else None


def _element_to_obj(el: ET.Element) -> Any:
    """Generic XML -> dict for UserData: attributes and children by local name, text as value."""
    children = list(el)
    if not children and not el.attrib:
        return el.text or ""
    out: dict[str, Any] = {}
    for k, v in el.attrib.items():
        out[_local(k)] = v
    for ch in children:
        name = _local(ch.tag)
        val = _element_to_obj(ch)
        if name in out:
            prev = out[name]
            out[name] = [*prev, val] if isinstance(prev, list) else [prev, val]
        else:
            out[name] = val
    if el.text and el.text.strip():
        out["#text"] = el.text
    return out


def xml_to_record(xml_text: str) -> dict[str, Any]:
    """Turn one rendered ``<Event>`` XML document into the winlog dict (raises ``ValueError``)."""
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 - see module import note
    except ET.ParseError as exc:
        raise ValueError(f"record XML does not parse: {exc}") from None
    system = root.find(f"{_NS}System")
    if system is None:
        raise ValueError("record has no <System> element")
    win: dict[str, Any] = {}

    def sys_el(name: str) -> ET.Element | None:
        return system.find(f"{_NS}{name}")

    prov = sys_el("Provider")
    if prov is not None:
        if prov.get("Name"):
            win["provider_name"] = prov.get("Name")
        if prov.get("Guid"):
            win["provider_guid"] = prov.get("Guid")
        if prov.get("EventSourceName"):
            win["event_source_name"] = prov.get("EventSourceName")
    eid = sys_el("EventID")
    if _text(eid) is not None:
        win["event_id"] = str(_text(eid)).strip()
    for tag, key in (("Version", "version"), ("Level", "level"), ("Task", "task"), ("Opcode", "opcode"),
                     ("Keywords", "keywords"), ("EventRecordID", "record_id"), ("Channel", "channel"),
                     ("Computer", "computer_name")):
        v = _text(sys_el(tag))
        if v is not None:
            win[key] = v
    ex = sys_el("Execution")
    if ex is not None:
        proc: dict[str, Any] = {}
        pid, tid = ex.get("ProcessID"), ex.get("ThreadID")
        if pid and pid.isdigit():
            proc["pid"] = int(pid)
        if tid and tid.isdigit():
            proc["thread"] = {"id": int(tid)}
        if proc:
            win["process"] = proc
    sec = sys_el("Security")
    if sec is not None and sec.get("UserID"):
        win["user"] = {"identifier": sec.get("UserID")}
    corr = sys_el("Correlation")
    if corr is not None and corr.get("ActivityID"):
        win["activity_id"] = corr.get("ActivityID")
    rec: dict[str, Any] = {"winlog": win}
    tc = sys_el("TimeCreated")
    if tc is not None and tc.get("SystemTime"):
        rec["@timestamp"] = tc.get("SystemTime")
    ed = root.find(f"{_NS}EventData")
    if ed is not None:
        data: dict[str, Any] = {}
        n = 0
        for d in ed:
            if _local(d.tag) != "Data":
                if _local(d.tag) == "Binary" and _text(d):
                    data["Binary"] = _text(d)
                continue
            name = d.get("Name")
            if not name:
                n += 1
                name = f"param{n}"
            data[name] = _same_as_rust(d.text) if d.text is not None else ""
        if data:
            win["event_data"] = data
    ud = root.find(f"{_NS}UserData")
    if ud is not None and len(ud):
        inner = ud[0]
        obj = _element_to_obj(inner)
        win["user_data"] = obj if isinstance(obj, dict) else {"#text": obj}
        win["user_data"]["xml_name"] = _local(inner.tag)
    if win.get("computer_name"):
        rec["host"] = {"name": win["computer_name"]}
    return rec


def _rust_available() -> bool:
    try:
        import evtx  # noqa: F401
    except ImportError:
        return False
    return True


def iter_evtx(path: str | Path, backend: str = "auto") -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Yield ``(record, None)`` or ``(None, reason)`` for each record of the file at ``path``.

    ``backend``: ``"auto"`` (Rust ``evtx`` if installed, else ``python-evtx``), ``"rust"`` or ``"python"``.
    """
    if backend == "rust" or (backend == "auto" and _rust_available()):
        yield from _iter_rust(Path(path))
        return
    yield from _iter_python(Path(path))


#: Stop a file after this many consecutive unreadable records (a truncated or overwritten file).
_MAX_CONSECUTIVE_ERRORS = 10_000


def _iter_rust(p: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    try:
        from evtx import PyEvtxParser
    except ImportError as exc:
        raise EvtxError(f"the 'evtx' package is not installed ({exc}); run: pip install evtx") from None
    from connectors.parsers._srv_winevent import normalise

    try:
        parser = PyEvtxParser(str(p))
    except (OSError, RuntimeError, ValueError) as exc:
        raise EvtxError(f"cannot open {p} as EVTX: {exc}") from None
    it = parser.records_json()
    errors = 0
    while True:
        try:
            raw: Any = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the Rust parser raises RuntimeError per bad record
            errors += 1
            yield None, f"{p.name}: record unreadable: {type(exc).__name__}: {str(exc)[:300]}"
            if errors >= _MAX_CONSECUTIVE_ERRORS:
                yield None, f"{p.name}: stopped after {errors} consecutive unreadable records"
                return
            continue
        errors = 0
        if not isinstance(raw, dict):
            yield None, f"{p.name}: record unreadable: the reader returned {type(raw).__name__}"
            continue
        rid = raw.get("event_record_id", "?")
        try:
            obj = json.loads(raw["data"])
            norm = normalise(obj) if isinstance(obj, dict) else None
        except (ValueError, KeyError, TypeError) as exc:
            yield None, f"{p.name}: record {rid}: rendered JSON unusable: {exc}"
            continue
        if norm is None:
            yield None, f"{p.name}: record {rid}: no <System> element"
            continue
        rec: dict[str, Any] = {"winlog": norm["winlog"]}
        if norm.get("@timestamp"):
            rec["@timestamp"] = norm["@timestamp"]
        if norm.get("message"):
            rec["message"] = norm["message"]
        if norm["winlog"].get("computer_name"):
            rec["host"] = {"name": norm["winlog"]["computer_name"]}
        yield rec, None


def _iter_python(p: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    try:
        import Evtx.Evtx as evtx_mod
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise EvtxError(f"python-evtx is not installed ({exc}); run: pip install python-evtx") from None
    try:
        ctx = evtx_mod.Evtx(str(p))
        fh = ctx.__enter__()
    except (OSError, ValueError) as exc:
        raise EvtxError(f"cannot open {p}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - python-evtx raises assorted errors on a bad header
        raise EvtxError(f"{p} is not a readable EVTX file: {type(exc).__name__}: {exc}") from None
    try:
        try:
            header = fh.get_file_header()
            chunks = list(header.chunks())
        except Exception as exc:  # noqa: BLE001
            yield None, f"{p.name}: file header unreadable: {type(exc).__name__}: {exc}"
            return
        for ci, chunk in enumerate(chunks):
            try:
                records = list(chunk.records())
            except Exception as exc:  # noqa: BLE001 - a damaged chunk must not stop the file
                yield None, f"{p.name}: chunk {ci} unreadable: {type(exc).__name__}: {exc}"
                continue
            for record in records:
                try:
                    xml_text = record.xml()
                except Exception as exc:  # noqa: BLE001 - python-evtx fails on some templates
                    num = getattr(record, "record_num", lambda: "?")
                    try:
                        rn = num()
                    except Exception:  # noqa: BLE001
                        rn = "?"
                    yield None, f"{p.name}: record {rn} (chunk {ci}) cannot be rendered: {type(exc).__name__}: {exc}"
                    continue
                try:
                    yield xml_to_record(xml_text), None
                except ValueError as exc:
                    yield None, f"{p.name}: chunk {ci}: {exc}"
    finally:
        with contextlib.suppress(Exception):  # closing the mmap of a damaged file
            ctx.__exit__(None, None, None)


def record_line(record: dict[str, Any]) -> str:
    """One JSON line for a record, as the ``winlog``/``evtx`` parser takes it."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
