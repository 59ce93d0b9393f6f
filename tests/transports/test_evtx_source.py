"""EVTX folder source: every record spooled once as a winlog JSON line, resumable, parsed by the pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connectors.sources.evtx_dir import EvtxSource
from connectors.spool import RejectedRecord, Spool

from .conftest import source_cfg

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "evtx" / "evtx-to-mitre-attack"
SAMPLE = SHARED / "TA0008-Lateral Movement" / "T1550-Use Alternate Authentication Material" / \
    "ID4624-Mimikatz Pass the hash.evtx"


@pytest.fixture
def evtx_dir(tmp_path: Path) -> Path:
    if not SAMPLE.exists():
        pytest.skip(f"EVTX sample corpus not found at {SAMPLE} (see ../shared/README.md)")
    d = tmp_path / "drop"
    d.mkdir()
    shutil.copy(SAMPLE, d / "a.evtx")
    return d


def test_evtx_records_spooled_once_and_parse(evtx_dir: Path, tmp_path: Path) -> None:
    from connectors.evtx_reader import iter_evtx

    expected = sum(1 for _ in iter_evtx(evtx_dir / "a.evtx"))
    sp = Spool(tmp_path / "sp")
    src = EvtxSource(source_cfg("wef", "evtx", path=str(evtx_dir / "*.evtx"), format="winlog"), sp)
    src.poll()
    src.poll()  # unchanged file: nothing new
    recs, cur = sp.read(100_000, 0.2)
    assert len(recs) == expected > 0
    good = [r for r in recs if not isinstance(r, RejectedRecord)]
    assert {r.format for r in recs} == {"winlog"}
    doc = json.loads(good[0].line)
    assert "winlog" in doc and doc["winlog"]["event_id"]
    # Restart with a fresh source on the same spool: the mark says "done".
    sp.commit(cur)
    sp.close()
    sp2 = Spool(tmp_path / "sp")
    EvtxSource(src.cfg, sp2).poll()
    assert sp2.backlog == 0
    # The records parse with the winlog parser.
    from soc.inventory import Inventory
    from soc.pipeline import Pipeline
    from soc.storage.events import ParquetEventStore
    from soc.storage.state import State

    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    pipe = Pipeline(state=state, events=ParquetEventStore(tmp_path / "ev"), inventory=Inventory.empty(), detectors=[])
    res = pipe.process(good)
    assert res.parsed == len(good) and res.dead == 0


def test_interrupted_import_resumes(evtx_dir: Path, tmp_path: Path) -> None:
    from connectors.evtx_reader import iter_evtx

    total = sum(1 for _ in iter_evtx(evtx_dir / "a.evtx"))
    if total < 3:
        pytest.skip("sample too small")
    sp = Spool(tmp_path / "sp")
    src = EvtxSource(source_cfg("wef", "evtx", path=str(evtx_dir / "*.evtx")), sp)
    st = (evtx_dir / "a.evtx").stat()
    sp.append([], mark=(src.key(str(evtx_dir / "a.evtx")),
                        {"inode": st.st_ino, "size": st.st_size, "mtime": st.st_mtime, "records": total - 2}))
    assert src.import_file(str(evtx_dir / "a.evtx")) == 2


def test_ingest_files_reads_evtx_as_winlog(evtx_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from connectors.evtx_reader import iter_evtx
    from connectors.runner import ingest_files
    from soc.inventory import Inventory
    from soc.pipeline import Pipeline
    from soc.storage.events import ParquetEventStore
    from soc.storage.state import State

    expected = sum(1 for rec, _ in iter_evtx(evtx_dir / "a.evtx") if rec is not None)
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    store = ParquetEventStore(tmp_path / "ev")
    pipe = Pipeline(state=state, events=store, inventory=Inventory.empty(), detectors=[])
    total = ingest_files([evtx_dir / "a.evtx"], "auto", pipe, progress=True)
    assert total.parsed == expected and total.received == total.parsed + total.dead
    assert store.count() == expected
    assert "counts reconcile" in capsys.readouterr().err
