"""CICIDS2017 flows as ECS firewall events, for the unsupervised per-event evaluation.

Mapping of a CICFlowMeter row (``/work/shared/flows/cicids2017-sample``) to ECS:

================================  ======================================
``Timestamp`` (local, UTC-3)      ``@timestamp`` (ISO 8601 with -03:00)
``Src IP`` / ``Src Port``         ``source.ip`` / ``source.port``
``Dst IP`` / ``Dst Port``         ``destination.ip`` / ``destination.port``
``Protocol`` (6, 17, 0)           ``network.transport`` (tcp, udp, hopopt), ``network.iana_number``
``Total Length of Fwd Packet``    ``source.bytes``
``Total Length of Bwd Packet``    ``destination.bytes``
``Total Fwd Packet``              ``source.packets``
``Total Bwd packets``             ``destination.packets``
``Flow Duration`` (microseconds)  ``event.duration`` (nanoseconds)
``Label``                         ``cicids.label`` (evaluation only; no feature reads it)
================================  ======================================

``event.category`` is ``network``, ``event.type`` ``connection``, ``event.dataset``
``cicids2017.flow``; ``event.action`` is left out because flows carry no
firewall verdict. The other CICFlowMeter statistics (inter-arrival times,
flags...) are not used: a firewall log does not carry them, and the model is
meant for firewall logs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

PROTO = {"6": "tcp", "17": "udp", "0": "hopopt", "1": "icmp"}


def _int(v: str) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if f == f and abs(f) < 2**62 else None


def row_to_ecs(row: dict[str, str]) -> dict[str, Any]:
    ts = row.get("Timestamp", "")
    try:
        iso = datetime.strptime(ts.split(".")[0], "%Y-%m-%d %H:%M:%S").isoformat() + "-03:00"
    except ValueError:
        iso = None
    proto = row.get("Protocol", "")
    dur = _int(row.get("Flow Duration", ""))
    doc: dict[str, Any] = {
        "@timestamp": iso,
        "event": {"kind": "event", "category": ["network"], "type": ["connection"], "dataset": "cicids2017.flow",
                  "duration": dur * 1000 if dur is not None and dur >= 0 else None},
        "source": {"ip": row.get("Src IP"), "port": _int(row.get("Src Port", "")),
                   "bytes": _int(row.get("Total Length of Fwd Packet", "")),
                   "packets": _int(row.get("Total Fwd Packet", ""))},
        "destination": {"ip": row.get("Dst IP"), "port": _int(row.get("Dst Port", "")),
                        "bytes": _int(row.get("Total Length of Bwd Packet", "")),
                        "packets": _int(row.get("Total Bwd packets", ""))},
        "network": {"transport": PROTO.get(proto, proto), "iana_number": proto},
        "cicids": {"label": row.get("Label"), "attempted_category": row.get("Attempted Category")},
    }
    return doc


def read_class(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.DictReader(fh):
            yield row_to_ecs(row)


def classes(folder: Path) -> dict[str, Path]:
    """Class name -> CSV file (``BENIGN`` included)."""
    out = {}
    for p in sorted(folder.glob("*.csv")):
        if p.name == "data_header_reference.csv":
            continue
        name = p.stem.rsplit("_", 1)[0]
        out[name] = p
    return out
