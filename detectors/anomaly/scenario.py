"""A documented synthetic city for evaluating the entity model (and for benchmarks).

Benign traffic: ``agencies`` agencies with ``hosts_per_agency`` workstations
each (one user per host). Every host has a personal activity level
(log-normal) and follows a daily rhythm - busy 08:00-17:00 local time on
weekdays, a lunch dip, little at night and at weekends. Its events are
firewall connections (``fortinet.firewall``: popular destinations by a Zipf
law, ports 443/80/53/123..., log-normal bytes, about 2% denied) and proxy
requests (``squid.access``: the host's favourite domains plus the city's
popular ones, now and then a never-seen domain - ordinary browsing is noisy),
and a few logins a day (``system.auth``, 5% failures).

Injected attacks (only on days after ``attack_from_day``), each with its ground truth:

* ``beaconing`` - a host calls one new domain every 60 s (+-3 s jitter) for 6 hours;
* ``exfiltration`` - a host sends about 400 MB over one hour to a rare address;
* ``scanning`` - a host tries 600 address/port pairs in one hour, most denied;
* ``bruteforce`` - 250 failed logins for one user in one hour.

Events are written in the event store layout (``soc/storage/schema.py``) so the
Spark jobs read them exactly as they read ingested logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from soc.storage.schema import SCHEMA

TZ_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving
#: Relative activity per local hour on a weekday (peaks mid-morning and mid-afternoon, lunch dip).
RHYTHM = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.4, 1.0, 1.0, 1.0, 0.8,
                   0.4, 0.9, 1.0, 1.0, 0.8, 0.4, 0.15, 0.08, 0.06, 0.04, 0.03, 0.02])
WEEKEND = 0.1
PORTS = np.array([443, 80, 53, 123, 25, 993, 8080, 3389, 22])
PORT_P = np.array([0.62, 0.15, 0.12, 0.03, 0.02, 0.02, 0.02, 0.01, 0.01])
#: Popular destinations of the city (Zipf-distributed), besides each host's own favourites.
N_DOMAINS = 3000


@dataclass
class Injection:
    """Ground truth of one injected attack: its main entity and every entity its events carry."""

    kind: str
    entity_type: str
    entity: str
    start: datetime
    end: datetime
    involved: list[tuple[str, str]] = field(default_factory=list)
    """(type, value) of the host, the user (when the events carry one) and the agency of the attack."""


@dataclass
class Scenario:
    start: datetime
    days: int
    agencies: int = 4
    hosts_per_agency: int = 12
    events_per_host_hour: float = 20.0
    """Mean events per host in a busy hour (before the host's own activity level)."""
    attack_from_day: int = 7
    attacks: tuple[str, ...] = ("beaconing", "exfiltration", "scanning", "bruteforce")
    seed: int = 7
    injections: list[Injection] = field(default_factory=list)

    def hosts(self) -> list[tuple[str, str, str, str]]:
        """(host name, ip, user, agency) of every workstation."""
        out = []
        for a in range(self.agencies):
            for h in range(self.hosts_per_agency):
                out.append((f"ag{a}-pc{h:03d}", f"10.{a}.{h // 250}.{h % 250 + 1}", f"user{a}_{h:03d}",
                            f"agency-{a}"))
        return out


def _only(mask: np.ndarray, values: Any) -> np.ndarray:
    """``values`` where ``mask``, else None (object array)."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask] if isinstance(values, np.ndarray) else values
    return out


class _Names:
    """Every string the benign generator uses, built once as Arrow arrays so a day is assembled by ``take``."""

    def __init__(self, sc: Scenario, n_dom: int) -> None:
        hosts = sc.hosts()
        self.host = pa.array([h[0] for h in hosts])
        self.ip = pa.array([h[1] for h in hosts])
        self.user = pa.array([h[2] for h in hosts])
        self.agency = pa.array([h[3] for h in hosts])
        n_all = n_dom + len(hosts) * 5  # the city's popular domains, then each host's five favourites
        self.domain = [f"site{i}.vn" for i in range(n_all)]
        self.dst_ip = pa.array([f"203.{(i >> 8) & 255}.{i & 255}.{(i * 7) % 250 + 1}" for i in range(n_all)])


def _take(values: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``values[idx]`` (null where ``mask`` is False) without a Python object per row."""
    ix = pa.array(idx.astype("int64"), mask=None if mask is None else ~mask)
    return values.take(ix)


def _const(values: list[str], codes: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return _take(pa.array(values), codes, mask)


def _ts(d0: datetime, secs: np.ndarray) -> pa.Array:
    ms = int(d0.timestamp() * 1000) + np.floor(secs * 1000).astype("int64")
    return pa.array(ms, type=pa.timestamp("ms", tz="UTC"))


def _benign_day(sc: Scenario, day: int, rng: np.random.Generator, activity: np.ndarray,
                names: _Names) -> tuple[pa.Table, np.ndarray]:
    """One day of benign traffic as a table of store columns, and each row's dataset name."""
    n_h = len(activity)
    d0 = sc.start + timedelta(days=day)
    local_wd = (d0 + TZ_OFFSET).weekday()
    # each day starts at local midnight, so hour i of the day is local hour i
    rates = np.outer(activity, RHYTHM) * sc.events_per_host_hour
    if local_wd >= 5:
        rates *= WEEKEND
    counts = rng.poisson(rates)
    host_idx = np.repeat(np.repeat(np.arange(n_h), 24), counts.ravel())
    hour = np.repeat(np.tile(np.arange(24), n_h), counts.ravel())
    n = len(host_idx)
    secs = hour * 3600 + rng.uniform(0, 3600, n)
    proxy = rng.random(n) < 0.5
    n_dom = N_DOMAINS
    zipf = np.minimum(rng.zipf(1.3, n), n_dom) - 1
    fav = rng.integers(0, 5, n)  # each host's own five favourites
    use_fav = rng.random(n) < 0.3
    dom_idx = np.where(use_fav, n_dom + host_idx * 5 + fav, zipf)
    novel = rng.random(n) < 0.01  # now and then a domain nobody has reached before
    n_novel = int(novel.sum())
    dom_names = pa.array(names.domain + [f"new-{day}-{i}.com" for i in range(n_novel)])
    shown = dom_idx.copy()
    shown[novel] = len(names.domain) + np.arange(n_novel)
    domain = _take(dom_names, shown, proxy)
    port = np.where(proxy, np.where(rng.random(n) < 0.9, 443, 80), rng.choice(PORTS, n, p=PORT_P))
    denied = rng.random(n) < 0.02
    bout = rng.lognormal(7.0, 1.0, n).astype("int64")
    bin_ = rng.lognormal(9.0, 1.5, n).astype("int64")
    dur = (rng.lognormal(0, 1, n) * 1e9).astype("int64")
    cols: dict[str, pa.Array] = {
        "ts": _ts(d0, secs), "host_name": _take(names.host, host_idx), "source_ip": _take(names.ip, host_idx),
        "user_name": _take(names.user, host_idx, proxy), "agency_id": _take(names.agency, host_idx),
        "destination_ip": _take(names.dst_ip, dom_idx), "destination_port": pa.array(port.astype("int64")),
        "network_transport": _const(["tcp", "udp"], (port == 53).astype("int64")),
        "source_bytes": pa.array(bout), "destination_bytes": pa.array(np.where(denied, 0, bin_)),
        "source_packets": pa.array(np.maximum(1, bout // 500)),
        "destination_packets": pa.array(np.maximum(1, bin_ // 1200)),
        "event_duration": pa.array(dur),
        "event_action": _const(["accept", "TCP_MISS", "deny"], np.where(denied, 2, proxy.astype("int64"))),
        "event_category": _const(["network", "web"], proxy.astype("int64")),
        "url_domain": domain,
        "url_original": pc.binary_join_element_wise("https://", domain, "/index.html", ""),
        "user_agent": _const(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120"], np.zeros(n), proxy),
        "http_method": _const(["GET"], np.zeros(n), proxy),
    }
    tables = [_complete(cols, n)]
    datasets = [np.where(proxy, "squid.access", "fortinet.firewall")]
    # logins: each user about 3 a day during working hours on weekdays
    if local_wd < 5:
        k = rng.poisson(3, n_h)
        li = np.repeat(np.arange(n_h), k)
        lsecs = rng.uniform(8 * 3600, 17 * 3600, len(li))  # 08:00-17:00 local
        fail = rng.random(len(li)) < 0.05
        m = len(li)
        tables.append(_complete({
            "ts": _ts(d0, lsecs), "host_name": _take(names.host, li), "source_ip": _take(names.ip, li),
            "user_name": _take(names.user, li), "agency_id": _take(names.agency, li),
            "event_category": _const(["authentication"], np.zeros(m)), "event_action": _const(["logon"], np.zeros(m)),
            "event_outcome": _const(["success", "failure"], fail.astype("int64")),
        }, m))
        datasets.append(np.full(m, "system.auth"))
    return pa.concat_tables(tables), np.concatenate(datasets)


def _complete(cols: dict[str, pa.Array], n: int) -> pa.Table:
    """A table of the full store schema from some of its columns (the others null)."""
    return pa.table([cols[f.name].cast(f.type) if f.name in cols else pa.nulls(n, type=f.type) for f in SCHEMA],
                    schema=SCHEMA)


def _attacks(sc: Scenario, day: int, rng: np.random.Generator) -> list[pd.DataFrame]:
    hosts = sc.hosts()
    d0 = sc.start + timedelta(days=day)
    out = []
    k = day - sc.attack_from_day
    for j, kind in enumerate(sc.attacks):
        h = hosts[(k * len(sc.attacks) + j * 7 + 3) % len(hosts)]
        hour = int(rng.integers(8, 11))  # during local working hours (beaconing then runs 6 h)
        t0 = d0 + timedelta(hours=hour, minutes=int(rng.integers(0, 30)))
        base = {"host_name": h[0], "source_ip": h[1], "agency_id": h[3]}
        if kind == "beaconing":
            n = 6 * 60
            ts = [t0 + timedelta(seconds=60 * i + float(rng.uniform(-3, 3))) for i in range(n)]
            dom = f"cdn-update-{day}.top"
            df = pd.DataFrame({**base, "ts": ts, "user_name": h[2], "url_domain": dom,
                               "url_original": f"https://{dom}/c2/poll?id={day}", "destination_ip": "185.0.0.9",
                               "destination_port": 443, "network_transport": "tcp", "source_bytes": 420,
                               "destination_bytes": 180, "source_packets": 3, "destination_packets": 2,
                               "event_duration": int(2e8), "event_action": "TCP_MISS", "event_category": "web",
                               "http_method": "GET", "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                               "Chrome/120", "dataset": "squid.access"})
            end = ts[-1]
        elif kind == "exfiltration":
            n = 40
            ts = [t0 + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 3000, n))]
            df = pd.DataFrame({**base, "ts": ts, "destination_ip": "45.77.1.2", "destination_port": 443,
                               "network_transport": "tcp", "source_bytes": (rng.uniform(8e6, 12e6, n)).astype(int),
                               "destination_bytes": 4000, "source_packets": 8000, "destination_packets": 200,
                               "event_duration": int(60e9), "event_action": "accept", "event_category": "network",
                               "dataset": "fortinet.firewall"})
            end = ts[-1]
        elif kind == "scanning":
            n = 600
            ts = [t0 + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 1800, n))]
            df = pd.DataFrame({**base, "ts": ts,
                               "destination_ip": [f"10.{int(rng.integers(0, 4))}.0.{int(rng.integers(1, 250))}"
                                                  for _ in range(n)],
                               "destination_port": rng.choice([22, 23, 135, 139, 445, 1433, 3306, 3389, 5900, 8080],
                                                              n).astype(int),
                               "network_transport": "tcp", "source_bytes": 60, "destination_bytes": 0,
                               "source_packets": 1, "destination_packets": 0, "event_duration": 0,
                               "event_action": np.where(rng.random(n) < 0.8, "deny", "accept"),
                               "event_category": "network", "dataset": "fortinet.firewall"})
            end = ts[-1]
        elif kind == "bruteforce":
            n = 250
            ts = [t0 + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 1500, n))]
            df = pd.DataFrame({**base, "ts": ts, "user_name": h[2], "event_category": "authentication",
                               "event_action": "logon", "event_outcome": "failure", "dataset": "system.auth"})
            end = ts[-1]
        else:
            raise ValueError(f"unknown attack kind {kind!r}")
        ent_type, ent = ("user", h[2]) if kind == "bruteforce" else ("host", h[0])
        involved = [("host", h[0]), ("agency", h[3])] + ([("user", h[2])] if "user_name" in df else [])
        sc.injections.append(Injection(kind, ent_type, ent, t0, end, involved))
        out.append(df)
    return out


def _iso_ms(ts: Any) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` of UTC timestamps (a naive cast: strftime with a time zone is 70x slower)."""
    text = pc.cast(pc.cast(ts, pa.timestamp("ms")), pa.string())
    return pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")


def _doc_column(t: pa.Table) -> pa.Array:
    """A small ECS document per row (timestamp, dataset, action, source, host), built column-wise."""
    def s(name: str) -> pa.Array:
        return pc.fill_null(t.column(name), "")

    parts = ['{"@timestamp":"', _iso_ms(t.column("ts")), 'Z","event":{"dataset":"', s("_dataset"), '","action":"', s("event_action"),
             '"},"source":{"ip":"', s("source_ip"), '"},"host":{"name":"', s("host_name"), '"}}']
    return pc.binary_join_element_wise(*parts, "")


def to_table(df: pd.DataFrame) -> pa.Table:
    """Frame with some schema columns (the injected attacks: small) -> a table of the full store schema."""
    df = df.copy()
    df["ts"] = pd.to_datetime(df["ts"], utc=True).dt.floor("ms")
    cols: dict[str, pa.Array] = {}
    for f in SCHEMA:
        if f.name not in df:
            continue
        if pa.types.is_timestamp(f.type):
            cols[f.name] = pa.array(df[f.name].dt.as_unit("ms"), type=f.type)
        else:
            cols[f.name] = pa.array(df[f.name].astype("object").where(df[f.name].notna(), None).tolist(),
                                    type=f.type)
    return _complete(cols, len(df))


def write_day(table: pa.Table, datasets: np.ndarray, events_dir: Path, prefix: str, with_doc: bool = True) -> int:
    """Write one generated day under ``events_dir`` in UTC day / dataset partitions; returns rows.

    Rows get ``event_id`` ``<prefix><n>`` and, with ``with_doc``, a ``doc``; each partition's rows are sorted
    by time and written as one more ``part-NNNNN.parquet`` file.
    """
    n = table.num_rows
    ids = pc.binary_join_element_wise(prefix, pc.cast(pa.array(np.arange(n)), pa.string()), "")
    table = table.set_column(table.schema.get_field_index("event_id"), "event_id", ids)
    ds = pa.array(datasets.astype(str))
    if with_doc:
        doc = _doc_column(table.append_column("_dataset", ds))
        table = table.set_column(table.schema.get_field_index("doc"), "doc", doc)
    day = pc.utf8_slice_codeunits(_iso_ms(table.column("ts")), 0, 10)
    key = pc.binary_join_element_wise(day, ds, "|")
    for k in pc.unique(key).to_pylist():
        d_day, d_ds = k.split("|")
        part = table.filter(pc.equal(key, k)).sort_by("ts")
        d = events_dir / f"day={d_day}" / f"dataset={d_ds}"
        d.mkdir(parents=True, exist_ok=True)
        existing = len(list(d.glob("*.parquet")))
        pq.write_table(part, d / f"part-{existing:05d}.parquet")
    return n


def generate(sc: Scenario, events_dir: Path, with_doc: bool = True,
             progress: Any = None) -> int:
    """Write the whole scenario; ``sc.injections`` receives the ground truth. Returns the number of events.

    Days are built with Arrow arrays (``take`` from name tables, no Python object per event), so a 10 M-event
    store takes about a minute rather than most of an hour; memory holds one day at a time.
    """
    if events_dir.exists() and any(events_dir.glob("day=*/dataset=*/*.parquet")):
        raise FileExistsError(f"{events_dir} already holds events; generate a scenario into an empty folder")
    rng = np.random.default_rng(sc.seed)
    activity = rng.lognormal(0.0, 0.5, len(sc.hosts()))
    names = _Names(sc, N_DOMAINS)
    total = 0
    for day in range(sc.days):
        table, datasets = _benign_day(sc, day, rng, activity, names)
        if day >= sc.attack_from_day:
            frames = _attacks(sc, day, rng)
            table = pa.concat_tables([table, *[to_table(f) for f in frames]])
            datasets = np.concatenate([datasets, *[f["dataset"].to_numpy(dtype=object) for f in frames]])
        total += write_day(table, datasets, events_dir, f"d{day}-", with_doc)
        if progress is not None:
            progress(day + 1, total)
    return total


def default_start() -> datetime:
    """A Monday 00:00 local time (17:00 UTC the day before)."""
    return datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
