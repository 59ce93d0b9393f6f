"""Per-event features of firewall and proxy events, computed on pandas batches.

The same function runs inside Spark (a pandas UDF over Arrow batches) and on
its own for ``soc anomaly score --input FILE``, so both paths give the same
numbers. Categorical fields become *rarity* in [0, 1] from frequency tables
learnt on the baseline (1 = never seen); the domain's rarity counts how many
distinct source hosts of the city reached it (Beehive's "popular domains"),
not how many requests, so one chatty host cannot make a domain look common.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Bump when a feature is added, removed or computed differently: models record it and refuse a mismatch.
FEATURE_SCHEMA = "event-v1"

#: Stored columns the per-event features read (``soc/storage/schema.py``).
EVENT_COLUMNS: list[str] = [
    "ts", "event_id", "event_category", "event_action", "event_outcome", "source_ip", "source_port",
    "destination_ip", "destination_port", "network_transport", "network_protocol", "source_bytes",
    "destination_bytes", "source_packets", "destination_packets", "event_duration", "url_original",
    "url_domain", "destination_domain", "http_method", "http_status", "user_agent", "user_name", "host_name",
    "agency_id", "system_id",
]
NUMERIC_COLUMNS = ["source_port", "destination_port", "source_bytes", "destination_bytes", "source_packets",
                   "destination_packets", "event_duration", "http_status"]

#: (feature, label used in explanations, raw column shown, kind) - kind: log (expm1 of the feature is the
#: raw value), rarity (show the category and how often it was seen), flag, plain.
FEATURES: list[tuple[str, str, str, str]] = [
    ("log_bytes_out", "bytes out", "source_bytes", "bytes"),
    ("log_bytes_in", "bytes in", "destination_bytes", "bytes"),
    ("log_packets_out", "packets out", "source_packets", "count"),
    ("log_packets_in", "packets in", "destination_packets", "count"),
    ("log_duration_ms", "duration", "event_duration", "duration"),
    ("out_in_ratio", "out/in byte ratio (log)", "", "plain"),
    ("log_bytes_per_packet_out", "bytes per packet out", "", "log"),
    ("port_rarity", "destination port", "_port_key", "rarity"),
    ("transport_rarity", "protocol", "_transport_key", "rarity"),
    ("action_rarity", "action", "_action_key", "rarity"),
    ("denied", "denied/blocked", "event_action", "flag"),
    ("off_hours", "outside working hours", "ts", "flag"),
    ("log_url_length", "URL length", "_url_len", "log"),
    ("url_entropy", "URL entropy (bits/char)", "", "plain"),
    ("domain_rarity", "domain", "_domain_key", "rarity"),
    ("user_agent_rarity", "user agent", "_ua_key", "rarity"),
    ("method_rarity", "HTTP method", "_method_key", "rarity"),
    ("http_error", "HTTP error status", "http_status", "flag"),
]
FEATURE_NAMES: list[str] = [f[0] for f in FEATURES]

#: rarity feature -> (key column, table name)
RARITY_KEYS = {"port_rarity": "_port_key", "transport_rarity": "_transport_key", "action_rarity": "_action_key",
               "domain_rarity": "_domain_key", "user_agent_rarity": "_ua_key", "method_rarity": "_method_key"}

_DENY = r"deny|denied|drop|block|reject|refused|prohibit|close-by-rst|timeout_denied"
MISSING = "-"
#: Entries kept per frequency table (most frequent first); rarer values count as unseen.
TABLE_MAX = 200_000


@dataclass
class RarityTables:
    """Baseline frequencies of each categorical key; ``totals`` is the denominator per table."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def rarity(self, key: str, values: pd.Series) -> np.ndarray:
        table = self.counts.get(key, {})
        total = max(self.totals.get(key, 0), 1)
        cnt = values.map(table).fillna(0).to_numpy(dtype="float64")
        return np.clip(1.0 - np.log1p(cnt) / math.log1p(total), 0.0, 1.0)

    def count(self, key: str, value: str) -> int:
        return int(self.counts.get(key, {}).get(value, 0))


def _num(s: pd.Series) -> pd.Series:
    """Numbers as float with NaN for missing, non-numeric, infinite or negative values."""
    v = pd.to_numeric(s, errors="coerce").astype("float64")
    v = v.where(np.isfinite(v) & (v >= 0))
    return v


def _str(s: pd.Series) -> pd.Series:
    """Text with :data:`MISSING` for null or empty (vectorised: this runs on every event)."""
    out = s.astype("object").where(s.notna(), MISSING).astype(str)
    return out.where(out != "", MISSING).astype("object")


def entropy(text: str) -> float:
    """Shannon entropy in bits per character (random-looking URLs and DGA domains score high)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def ensure_columns(pdf: pd.DataFrame) -> pd.DataFrame:
    """Add missing columns (as nulls) so partial inputs still have the full layout."""
    for c in EVENT_COLUMNS:
        if c not in pdf.columns:
            pdf[c] = None
    return pdf


def keys(pdf: pd.DataFrame) -> pd.DataFrame:
    """Categorical keys the rarity tables are indexed by."""
    out = pd.DataFrame(index=pdf.index)
    transport = _str(pdf["network_transport"]).str.lower()
    port = _num(pdf["destination_port"])
    out["_port_key"] = transport + "/" + port.astype("Int64").astype(str).where(port.notna(), MISSING)
    out["_transport_key"] = transport + "/" + _str(pdf["network_protocol"]).str.lower()
    out["_action_key"] = _str(pdf["event_action"]).str.lower() + "/" + _str(pdf["event_outcome"]).str.lower()
    dom = pdf["url_domain"].where(pdf["url_domain"].notna() & (pdf["url_domain"] != ""), pdf["destination_domain"])
    out["_domain_key"] = _str(dom).str.lower()
    out["_ua_key"] = _str(pdf["user_agent"])
    out["_method_key"] = _str(pdf["http_method"]).str.upper()
    out["_source_key"] = _str(pdf["host_name"].where(pdf["host_name"].notna(), pdf["source_ip"]))
    return out


def fit_tables(pdf: pd.DataFrame) -> RarityTables:
    """Frequency tables from a pandas frame (the ``--input`` path; Spark builds the same with group-bys)."""
    pdf = ensure_columns(pdf.copy())
    k = keys(pdf)
    t = RarityTables()
    for key in ("_port_key", "_transport_key", "_action_key", "_ua_key", "_method_key"):
        vc = k[key].value_counts()
        t.counts[key] = {str(a): int(b) for a, b in vc.head(TABLE_MAX).items()}
        t.totals[key] = len(k)
    # domains: distinct sources that reached each domain, over the number of sources in the city
    has = k["_domain_key"] != MISSING
    per = k[has].groupby("_domain_key")["_source_key"].nunique().sort_values(ascending=False)
    t.counts["_domain_key"] = {str(a): int(b) for a, b in per.head(TABLE_MAX).items()}
    t.counts["_domain_key"][MISSING] = int(k["_source_key"].nunique())
    t.totals["_domain_key"] = int(k["_source_key"].nunique())
    return t


def usable(pdf: pd.DataFrame) -> np.ndarray:
    """Rows with at least one network or web field; the others cannot be scored honestly."""
    cols = ["source_bytes", "destination_bytes", "source_packets", "destination_packets", "destination_port",
            "event_duration"]
    ok = np.zeros(len(pdf), dtype=bool)
    for c in cols:
        ok |= _num(pdf[c]).notna().to_numpy()
    for c in ("url_original", "url_domain", "destination_domain"):
        ok |= (pdf[c].notna() & (pdf[c].astype("object") != "")).to_numpy()
    return ok


def _local(ts: pd.Series, tz: str) -> pd.Series:
    t = pd.to_datetime(ts, errors="coerce", utc=True)
    return t.dt.tz_convert(tz)


def compute(pdf: pd.DataFrame, tables: RarityTables, tz: str = "Asia/Ho_Chi_Minh",
            work_hours: tuple[int, int] = (7, 18)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature matrix (float64, finite, columns :data:`FEATURE_NAMES`) and the keys used (for explanations)."""
    pdf = ensure_columns(pdf)
    k = keys(pdf)
    f = pd.DataFrame(index=pdf.index)
    sb, db = _num(pdf["source_bytes"]), _num(pdf["destination_bytes"])
    sp, dp = _num(pdf["source_packets"]), _num(pdf["destination_packets"])
    dur_ms = _num(pdf["event_duration"]) / 1e6  # ECS event.duration is in nanoseconds
    f["log_bytes_out"] = np.log1p(sb.fillna(0))
    f["log_bytes_in"] = np.log1p(db.fillna(0))
    f["log_packets_out"] = np.log1p(sp.fillna(0))
    f["log_packets_in"] = np.log1p(dp.fillna(0))
    f["log_duration_ms"] = np.log1p(dur_ms.fillna(0))
    f["out_in_ratio"] = f["log_bytes_out"] - f["log_bytes_in"]
    f["log_bytes_per_packet_out"] = np.log1p((sb / sp.where(sp > 0)).fillna(0))
    for feat, key in RARITY_KEYS.items():
        f[feat] = tables.rarity(key, k[key])
    action = pdf["event_action"].astype("object").fillna("").astype(str) + " " + \
        pdf["event_outcome"].astype("object").fillna("").astype(str).where(
            pdf["event_category"].astype("object").fillna("").astype(str).str.contains("network"), "")
    f["denied"] = action.str.contains(_DENY, case=False, regex=True).astype("float64")
    local = _local(pdf["ts"], tz)
    hour, wd = local.dt.hour, local.dt.weekday
    f["off_hours"] = (((hour < work_hours[0]) | (hour >= work_hours[1]) | (wd >= 5)) & local.notna()).astype(
        "float64")
    url = pdf["url_original"].astype("object").fillna("").astype(str)
    k["_url_len"] = url.str.len()
    f["log_url_length"] = np.log1p(k["_url_len"].astype("float64"))
    uniq = url.unique()  # URLs repeat a lot: compute each once
    f["url_entropy"] = url.map(dict(zip(uniq, map(entropy, uniq), strict=True))).astype("float64")
    status = _num(pdf["http_status"])
    f["http_error"] = (status >= 400).astype("float64")
    f = f[FEATURE_NAMES].replace([np.inf, -np.inf], np.nan).fillna(0.0).astype("float64")
    return f, k


def describe_value(kind: str, value: float) -> str:
    """Human form of a raw value for explanations (bytes in kB/MB, durations in s)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "bytes":
        for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if value >= div:
                return f"{value / div:.1f} {unit}"
        return f"{value:.0f} B"
    if kind == "duration":
        return f"{value / 1e9:.1f} s"
    if kind == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def raw_of(feature: str, value: float) -> float:
    """Invert a ``log1p`` feature to its raw value (duration back to nanoseconds)."""
    if feature == "log_duration_ms":
        return float(np.expm1(value)) * 1e6
    if feature.startswith("log_"):
        return float(np.expm1(value))
    return float(value)


def feature_kind(feature: str) -> tuple[str, str]:
    for name, label, _raw, kind in FEATURES:
        if name == feature:
            return label, kind
    raise KeyError(feature)


def explain_row(feats: dict[str, float], key_row: dict[str, Any], medians: dict[str, float],
                scales: dict[str, float], tables: RarityTables, top: int = 3) -> list[dict[str, Any]]:
    """The features furthest above their baseline median, phrased with the usual value."""
    dev = []
    for name in FEATURE_NAMES:
        z = (feats[name] - medians[name]) / scales[name]
        if z > 0:
            dev.append((z, name))
    dev.sort(reverse=True)
    out: list[dict[str, Any]] = []
    for z, name in dev[:top]:
        label, kind = feature_kind(name)
        entry: dict[str, Any] = {"feature": name, "deviation": round(float(z), 2)}
        if kind == "rarity":
            key = RARITY_KEYS[name]
            val = str(key_row.get(key, MISSING))
            cnt = tables.count(key, val)
            unit = "hosts" if name == "domain_rarity" else "events"
            entry.update(value=val, seen_in_baseline=cnt,
                         text=f"{label} {val} seen in the baseline from {cnt} {unit} (rarity {feats[name]:.2f} "
                              f"vs a usual {medians[name]:.2f})")
        elif kind == "flag":
            entry.update(value=feats[name], usual=medians[name], text=f"{label} (usually not)")
        elif kind in ("bytes", "count", "duration"):
            v, u = raw_of(name, feats[name]), raw_of(name, medians[name])
            entry.update(value=v, usual=u,
                         text=f"{label} {describe_value(kind, v)} vs a usual {describe_value(kind, u)}")
        else:
            v, u = raw_of(name, feats[name]), raw_of(name, medians[name])
            entry.update(value=round(v, 3), usual=round(u, 3), text=f"{label} {v:.2f} vs a usual {u:.2f}")
        out.append(entry)
    return out
