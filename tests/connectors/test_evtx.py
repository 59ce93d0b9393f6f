"""``connectors.evtx_reader``: EVTX files to winlog dicts, robust to damaged files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from connectors.evtx_reader import EvtxError, iter_evtx, record_line, xml_to_record
from connectors.parsers import ParseContext, parse_line
from tests.connectors.elastic_compare import SHARED

REGRESSION = SHARED / "sigma" / "regression_data"
MITRE = SHARED / "evtx" / "evtx-to-mitre-attack"


def _need(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"{path} is absent (../shared is not checked out)")


def _json_events(path: Path) -> list[dict]:
    text, dec, i = path.read_text(encoding="utf-8"), json.JSONDecoder(), 0
    out: list[dict] = []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def test_regression_evtx_matches_its_json() -> None:
    """Each Sigma regression sample: the EVTX gives the same events as the JSON export beside it."""
    _need(REGRESSION)
    files, same, compared = 0, 0, 0
    for evtx in sorted(REGRESSION.rglob("*.evtx")):
        js = evtx.with_suffix(".json")
        if not js.is_file():
            continue
        got = list(iter_evtx(evtx))
        assert all(err is None for _, err in got), [err for _, err in got if err][:3]
        records = [r for r, _ in got if r is not None]
        expected = _json_events(js)
        assert len(records) == len(expected), evtx
        by_id = {str(e["Event"]["System"]["EventRecordID"]): e["Event"] for e in expected}
        for rec in records:
            ev = by_id[rec["winlog"]["record_id"]]
            assert rec["winlog"]["event_id"] == str(ev["System"]["EventID"])
            assert rec["winlog"]["channel"] == ev["System"]["Channel"]
            for name, value in (ev.get("EventData") or {}).items():
                if name == "#attributes":
                    continue
                want = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
                # Every field name is there; a few JSON samples were edited by hand (case, trailing
                # blanks) after export, so values are compared as a share.
                compared += 1
                same += rec["winlog"]["event_data"][name] == want
            doc = parse_line("evtx", record_line(rec), ParseContext())[0]
            assert doc["event"]["code"] == rec["winlog"]["event_id"]
            assert doc["@timestamp"].endswith("Z") and doc["host"]["name"] == ev["System"]["Computer"]
        files += 1
    assert files > 190
    assert same / compared > 0.97, f"{same}/{compared} EventData values equal"


def test_mitre_corpus_reads_every_record() -> None:
    """281 attack-technique files: every record renders and parses (10,253 records when written)."""
    _need(MITRE)
    ok, errors = 0, []
    datasets: Counter[str] = Counter()
    ctx = ParseContext()
    for evtx in sorted(MITRE.rglob("*.evtx")):
        for rec, err in iter_evtx(evtx):
            if rec is None:
                errors.append(err)
                continue
            ok += 1
            datasets[parse_line("evtx", record_line(rec), ctx)[0]["event"]["dataset"]] += 1
    assert errors == []
    assert ok > 10_000
    assert datasets["windows.security"] > 1000 and datasets["windows.sysmon_operational"] > 100


def test_python_backend_matches_rust_on_a_file() -> None:
    _need(REGRESSION)
    evtx = sorted(REGRESSION.rglob("*.evtx"))[0]
    rust = [r for r, _ in iter_evtx(evtx, backend="rust")]
    py = [r for r, _ in iter_evtx(evtx, backend="python")]
    assert len(rust) == len(py) > 0
    for a, b in zip(rust, py, strict=True):
        assert a is not None and b is not None
        assert a["winlog"]["event_data"] == b["winlog"]["event_data"]
        assert a["winlog"]["event_id"] == b["winlog"]["event_id"]


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_damaged_file_yields_errors_not_exceptions(tmp_path: Path, backend: str) -> None:
    _need(MITRE)
    src = max(MITRE.rglob("*.evtx"), key=lambda p: p.stat().st_size if p.stat().st_size < 400_000 else 0)
    bad = tmp_path / "bad.evtx"
    shutil.copy(src, bad)
    data = bytearray(bad.read_bytes())
    # Overwrite the middle of the first chunk's records with noise.
    for i in range(4096 + 1024, min(len(data), 4096 + 9000), 7):
        data[i] = (data[i] * 31 + 17) % 256
    bad.write_bytes(bytes(data))
    results = list(iter_evtx(bad, backend=backend))
    assert results
    assert all((r is None) != (e is None) for r, e in results)
    errors = [e for _, e in results if e]
    assert errors and all("bad.evtx" in e for e in errors)


def test_not_an_evtx_file(tmp_path: Path) -> None:
    p = tmp_path / "x.evtx"
    p.write_bytes(b"this is not an event log" * 100)
    try:
        results = list(iter_evtx(p))
    except EvtxError as exc:
        assert "x.evtx" in str(exc)
    else:
        assert results and all(r is None and e for r, e in results)
    with pytest.raises(EvtxError):
        list(iter_evtx(tmp_path / "missing.evtx"))


def test_xml_to_record() -> None:
    xml = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
           '<Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625}"/><EventID>4624</EventID>'
           '<TimeCreated SystemTime="2024-01-01T00:00:00.1Z"/><EventRecordID>9</EventRecordID>'
           '<Execution ProcessID="4" ThreadID="8"/><Channel>Security</Channel><Computer>DC1</Computer>'
           '<Security UserID="S-1-5-18"/></System><EventData><Data Name="TargetUserName">bob</Data>'
           '<Data Name="Empty"/><Data>unnamed</Data></EventData></Event>')
    rec = xml_to_record(xml)
    assert rec["winlog"]["event_data"] == {"TargetUserName": "bob", "Empty": "", "param1": "unnamed"}
    assert rec["winlog"]["process"] == {"pid": 4, "thread": {"id": 8}}
    assert rec["host"] == {"name": "DC1"} and rec["@timestamp"] == "2024-01-01T00:00:00.1Z"
    with pytest.raises(ValueError):
        xml_to_record("<Event><broken")
