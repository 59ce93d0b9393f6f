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

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from soc.storage.schema import SCHEMA

TZ_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving
#: Relative activity per local hour on a weekday (peaks mid-morning and mid-afternoon, lunch dip).
RHYTHM = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.4, 1.0, 1.0, 1.0, 0.8,
                   0.4, 0.9, 1.0, 1.0, 0.8, 0.4, 0.15, 0.08, 0.06, 0.04, 0.03, 0.02])
WEEKEND = 0.1
PORTS = np.array([443, 80, 53, 123, 25, 993, 8080, 3389, 22])
PORT_P = np.array([0.62, 0.15, 0.12, 0.03, 0.02, 0.02, 0.02, 0.01, 0.01])


@dataclass
class Injection:
    kind: str
    entity_type: str
    entity: str
    start: datetime
    end: datetime


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


def _benign_day(sc: Scenario, day: int, rng: np.random.Generator, activity: np.ndarray) -> pd.DataFrame:
    hosts = sc.hosts()
    d0 = sc.start + timedelta(days=day)
    local_wd = (d0 + TZ_OFFSET).weekday()
    n_h = len(hosts)
    # each day starts at local midnight, so hour i of the day is local hour i
    rates = np.outer(activity, RHYTHM) * sc.events_per_host_hour
    if local_wd >= 5:
        rates *= WEEKEND
    counts = rng.poisson(rates)
    host_idx = np.repeat(np.repeat(np.arange(n_h), 24), counts.ravel())
    hour = np.repeat(np.tile(np.arange(24), n_h), counts.ravel())
    n = len(host_idx)
    secs = hour * 3600 + rng.uniform(0, 3600, n)
    ts = pd.to_datetime(d0) + pd.to_timedelta(secs, unit="s")
    proxy = rng.random(n) < 0.5
    n_dom = 3000
    zipf = np.minimum(rng.zipf(1.3, n), n_dom) - 1
    fav = rng.integers(0, 5, n)  # each host's own five favourites
    use_fav = rng.random(n) < 0.3
    dom_idx = np.where(use_fav, n_dom + host_idx * 5 + fav, zipf)
    novel = rng.random(n) < 0.01  # now and then a domain nobody has reached before
    domains = np.array([f"site{i}.vn" for i in range(n_dom + n_h * 5)], dtype=object)[dom_idx]
    domains[novel] = np.array([f"new-{day}-{i}.com" for i in range(int(novel.sum()))], dtype=object)
    dst_ip = np.array([f"203.{(i >> 8) & 255}.{i & 255}.{(i * 7) % 250 + 1}" for i in dom_idx], dtype=object)
    port = np.where(proxy, np.where(rng.random(n) < 0.9, 443, 80), rng.choice(PORTS, n, p=PORT_P))
    denied = rng.random(n) < 0.02
    hn = np.array([h[0] for h in hosts], dtype=object)[host_idx]
    ip = np.array([h[1] for h in hosts], dtype=object)[host_idx]
    users = np.array([h[2] for h in hosts], dtype=object)[host_idx]
    ags = np.array([h[3] for h in hosts], dtype=object)[host_idx]
    bout = rng.lognormal(7.0, 1.0, n).astype("int64")
    bin_ = rng.lognormal(9.0, 1.5, n).astype("int64")
    df = pd.DataFrame({
        "ts": ts, "host_name": hn, "source_ip": ip, "user_name": _only(proxy, users),
        "agency_id": ags, "destination_ip": dst_ip, "destination_port": port.astype("int64"),
        "network_transport": np.where(port == 53, "udp", "tcp"),
        "source_bytes": bout, "destination_bytes": np.where(denied, 0, bin_),
        "source_packets": np.maximum(1, bout // 500), "destination_packets": np.maximum(1, bin_ // 1200),
        "event_duration": (rng.lognormal(0, 1, n) * 1e9).astype("int64"),
        "event_action": np.where(denied, "deny", np.where(proxy, "TCP_MISS", "accept")),
        "event_category": np.where(proxy, "web", "network"),
        "url_domain": _only(proxy, domains),
        "destination_domain": None,
        "dataset": np.where(proxy, "squid.access", "fortinet.firewall"),
    })
    df["url_original"] = _only(proxy, ("https://" + df["url_domain"].astype(str) + "/index.html").to_numpy())
    df["user_agent"] = _only(proxy, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120")
    df["http_method"] = _only(proxy, "GET")
    # logins: each user about 3 a day during working hours on weekdays
    if local_wd < 5:
        k = rng.poisson(3, n_h)
        li = np.repeat(np.arange(n_h), k)
        lsecs = rng.uniform(8 * 3600, 17 * 3600, len(li))  # 08:00-17:00 local
        fail = rng.random(len(li)) < 0.05
        logins = pd.DataFrame({
            "ts": pd.to_datetime(d0) + pd.to_timedelta(lsecs, unit="s"),
            "host_name": np.array([h[0] for h in hosts], dtype=object)[li],
            "source_ip": np.array([h[1] for h in hosts], dtype=object)[li],
            "user_name": np.array([h[2] for h in hosts], dtype=object)[li],
            "agency_id": np.array([h[3] for h in hosts], dtype=object)[li],
            "event_category": "authentication", "event_action": "logon",
            "event_outcome": np.where(fail, "failure", "success"), "dataset": "system.auth",
        })
        df = pd.concat([df, logins], ignore_index=True)
    return df


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
        sc.injections.append(Injection(kind, ent_type, ent, t0, end))
        out.append(df)
    return out


def _doc(r: dict[str, Any]) -> str:
    return json.dumps({"@timestamp": r["ts"], "event": {"dataset": r["dataset"], "action": r["event_action"]},
                       "source": {"ip": r["source_ip"]}, "host": {"name": r["host_name"]}},
                      separators=(",", ":"), default=str)


def to_table(df: pd.DataFrame, with_doc: bool = True) -> pa.Table:
    """Frame with some schema columns -> a table of the full event-store schema."""
    df = df.copy()
    df["ts"] = pd.to_datetime(df["ts"], utc=True).dt.floor("ms")
    n = len(df)
    if "event_id" not in df:
        df["event_id"] = [f"sc-{i}" for i in range(n)]
    if with_doc:
        df["doc"] = [_doc(r) for r in df[["ts", "dataset", "event_action", "source_ip", "host_name"]]
                     .assign(ts=df["ts"].astype(str)).to_dict("records")]
    cols = {}
    for f in SCHEMA:
        if f.name in df:
            if pa.types.is_timestamp(f.type):
                cols[f.name] = pa.array(df[f.name].dt.as_unit("ms"), type=f.type)
            else:
                cols[f.name] = pa.array(df[f.name].astype("object").where(df[f.name].notna(), None).tolist(),
                                        type=f.type)
        else:
            cols[f.name] = pa.nulls(n, type=f.type)
    return pa.table(cols, schema=SCHEMA)


def write_store(df: pd.DataFrame, events_dir: Path, with_doc: bool = True) -> int:
    """Write ``df`` (must have ``dataset``) under ``events_dir`` in day/dataset partitions; returns rows."""
    df = df.copy()
    df["_day"] = pd.to_datetime(df["ts"], utc=True).dt.strftime("%Y-%m-%d")
    for (day, ds), part in df.groupby(["_day", "dataset"]):
        d = events_dir / f"day={day}" / f"dataset={ds}"
        d.mkdir(parents=True, exist_ok=True)
        existing = len(list(d.glob("*.parquet")))
        pq.write_table(to_table(part.drop(columns=["_day"]).sort_values("ts"), with_doc),
                       d / f"part-{existing:05d}.parquet")
    return len(df)


def generate(sc: Scenario, events_dir: Path, with_doc: bool = True) -> int:
    """Write the whole scenario; ``sc.injections`` receives the ground truth. Returns the number of events."""
    if events_dir.exists() and any(events_dir.glob("day=*/dataset=*/*.parquet")):
        raise FileExistsError(f"{events_dir} already holds events; generate a scenario into an empty folder")
    rng = np.random.default_rng(sc.seed)
    activity = rng.lognormal(0.0, 0.5, len(sc.hosts()))
    total = 0
    for day in range(sc.days):
        frames = [_benign_day(sc, day, rng, activity)]
        if day >= sc.attack_from_day:
            frames += _attacks(sc, day, rng)
        df = pd.concat(frames, ignore_index=True)
        df["event_id"] = [f"d{day}-{i}" for i in range(len(df))]
        total += write_store(df, events_dir, with_doc)
    return total


def default_start() -> datetime:
    """A Monday 00:00 local time (17:00 UTC the day before)."""
    return datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
