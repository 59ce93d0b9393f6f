"""Family 2: behaviour of each entity (host, user, agency) per window (hour, day), with Spark.

Features follow the Beehive study of enterprise proxy logs (Yen et al., ACSAC
2013) and Elastic's rare/high-count ML jobs: volume and spread of traffic,
new and rare destinations, bytes out, denied share, failed logins, off-hours
share and beaconing (regular gaps between connections to one destination).
Each window is then compared with the entity's own history *in the same time
slot* (working hours on weekdays, or off-hours and weekends: a robust z-score
against its baseline median) and with its peers in the same window (the
other hosts/users of the same agency; all agencies for agencies). The model
sees, per feature, how far the window stands above *both* references (the
smaller of the two deviations): behaviour unusual for this entity but shared
by its peers, or usual for it but not for its peers, is not what we look for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: Bump on any change of the features below; models record it.
FEATURE_SCHEMA = "entity-v3"

#: (feature, label, kind) of the window aggregates; kind "log" features are modelled as log1p.
BASE: list[tuple[str, str, str]] = [
    ("events", "events", "count"),
    ("distinct_destinations", "distinct destinations", "count"),
    ("distinct_ports", "distinct destination ports", "count"),
    ("distinct_domains", "distinct domains", "count"),
    ("new_domains", "domains never contacted before", "count"),
    ("rare_domains", "domains rare across the city", "count"),
    ("bytes_out", "bytes out", "bytes"),
    ("bytes_in", "bytes in", "bytes"),
    ("deny_ratio", "share of denied connections", "ratio"),
    ("failed_logins", "failed logins", "count"),
    ("off_hours_ratio", "share of activity outside working hours", "ratio"),
    ("beacon_score", "beaconing regularity", "ratio"),
]
BASE_NAMES = [b[0] for b in BASE]
LOGGED = {n for n, _, k in BASE if k in ("count", "bytes")}
#: What the forests see, per base feature: how far the window stands *above* both its own usual value (same
#: slot) and its peers' - the smaller of the two one-sided robust z-scores, or the one available. One-sided:
#: less activity than usual is not a threat. One value per feature (not two): with 24 noisy inputs an
#: Isolation Forest rarely picks the one feature on which an exfiltration stands out, and the minimum keeps
#: what neither the entity's habits nor its peers explain.
FEATURE_NAMES: list[str] = [f"dev_{n}" for n in BASE_NAMES]

ENTITY_COLUMNS = ["ts", "source_ip", "destination_ip", "destination_port", "source_bytes", "destination_bytes",
                  "url_domain", "destination_domain", "event_category", "event_action", "event_outcome",
                  "user_name", "host_name", "agency_id", "system_id"]

#: Domains reached by at most this many distinct sources in the baseline are "rare across the city".
RARE_DOMAIN_SOURCES = 2
#: A destination needs this many connections in a window before its regularity counts as beaconing.
BEACON_MIN_CONNECTIONS = 6
#: Windows of history (in the same slot) an entity needs before its own baseline is used (else peers only).
MIN_HISTORY = 3
#: Other peers active in a window needed before the peer comparison is used.
MIN_PEERS = 3
Z_CLIP = 20.0
#: Smallest scale of a log1p count/bytes feature: z = 1 is then at least a 65% change. Counts that are
#: usually 0 (failed logins) otherwise get a tiny spread and one failure looks like a 20-sigma event.
LOG_FLOOR = 0.5
#: Smallest scale of a share (deny ratio, off-hours share, beaconing regularity).
RATIO_FLOOR = 0.05
#: The deny ratio counts this many extra allowed events, so that one denied connection out of one is 20%
#: rather than 100%: small windows are noisy. (Not the off-hours share: within a slot it is what it is.)
RATIO_PSEUDO_EVENTS = 4
_DENY = "(?i)deny|denied|drop|block|reject|refused|prohibit"


def entity_rows(df: Any, entity_types: list[str]) -> Any:
    """One row per (event, entity type) with ``etype``, ``key`` and ``peer``; events lacking the key are dropped."""
    from pyspark.sql import functions as F

    domain = F.lower(F.coalesce(F.when(F.col("url_domain") != "", F.col("url_domain")),
                                F.when(F.col("destination_domain") != "", F.col("destination_domain"))))
    common = [
        F.col("ts"),
        F.coalesce(domain, F.col("destination_ip")).alias("dest"),
        F.col("destination_ip"), F.col("destination_port"), domain.alias("domain"),
        F.col("source_bytes"), F.col("destination_bytes"),
        F.concat_ws(" ", F.col("event_action"), F.col("event_outcome")).rlike(_DENY).cast("int").alias("denied"),
        (F.lower(F.coalesce(F.col("event_category"), F.lit(""))).contains("authentication")
         & (F.lower(F.coalesce(F.col("event_outcome"), F.lit(""))) == "failure")).cast("int").alias("failed"),
    ]
    agency = F.coalesce(F.col("agency_id"), F.lit("-"))
    keys = {
        "host": (F.coalesce(F.when(F.col("host_name") != "", F.col("host_name")), F.col("source_ip")), agency),
        "user": (F.when(F.col("user_name") != "", F.lower(F.col("user_name"))), agency),
        "agency": (F.col("agency_id"), F.lit("city")),
    }
    parts = []
    for et in entity_types:
        key, peer = keys[et]
        parts.append(df.select(F.lit(et).alias("etype"), key.alias("key"), peer.alias("peer"), *common)
                     .where(F.col("key").isNotNull()))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _window_start(wkind: str, tz: str) -> Any:
    from pyspark.sql import functions as F

    local = F.from_utc_timestamp(F.col("ts"), tz)
    return F.to_utc_timestamp(F.date_trunc(wkind, local), tz)


def window_features(rows: Any, windows: list[str], tz: str, work_hours: tuple[int, int],
                    first_seen: Any, popular_domains: Any, grace_start: datetime) -> Any:
    """Aggregate entity rows into one row per (etype, key, peer, wkind, wstart) with :data:`BASE_NAMES`.

    ``first_seen`` is a frame ``(etype, key, domain, first_seen)`` of when each entity first reached a
    domain (the baseline's, or ``None``); ``popular_domains`` a frame of ``domain`` reached by more than
    :data:`RARE_DOMAIN_SOURCES` sources. Domains first seen before ``grace_start`` are never "new", so that
    the start of the history does not look like a burst of novelty.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    local = F.from_utc_timestamp(F.col("ts"), tz)
    hour = F.hour(local)
    off = ((hour < work_hours[0]) | (hour >= work_hours[1]) | (F.dayofweek(local).isin(1, 7))).cast("int")
    rows = rows.withColumn("off", off)
    # first time each (entity, domain) pair is seen: baseline table, else first in this frame
    pair_first = rows.where(F.col("domain").isNotNull()).groupBy("etype", "key", "domain").agg(
        F.min("ts").alias("frame_first"))
    if first_seen is not None:
        pair_first = pair_first.join(first_seen, ["etype", "key", "domain"], "left").select(
            "etype", "key", "domain", F.least(F.coalesce("first_seen", "frame_first"), "frame_first")
            .alias("first_seen"))
    else:
        pair_first = pair_first.withColumnRenamed("frame_first", "first_seen")
    pop = popular_domains.select(F.col("domain"), F.lit(1).alias("popular"))
    out = None
    for wk in windows:
        w = rows.withColumn("wkind", F.lit(wk)).withColumn("wstart", _window_start(wk, tz))
        main = w.groupBy("etype", "key", "peer", "wkind", "wstart").agg(
            F.count(F.lit(1)).alias("events"),
            F.countDistinct("destination_ip").alias("distinct_destinations"),
            F.countDistinct("destination_port").alias("distinct_ports"),
            F.countDistinct("domain").alias("distinct_domains"),
            F.coalesce(F.sum("source_bytes"), F.lit(0)).alias("bytes_out"),
            F.coalesce(F.sum("destination_bytes"), F.lit(0)).alias("bytes_in"),
            (F.sum("denied") / (F.count(F.lit(1)) + RATIO_PSEUDO_EVENTS)).alias("deny_ratio"),
            F.sum("failed").alias("failed_logins"),
            F.avg("off").alias("off_hours_ratio"),
        )
        doms = (w.where(F.col("domain").isNotNull()).select("etype", "key", "wkind", "wstart", "domain").distinct()
                .join(pair_first, ["etype", "key", "domain"], "left")
                .join(F.broadcast(pop), ["domain"], "left")
                .groupBy("etype", "key", "wkind", "wstart").agg(
                    F.sum(((F.col("first_seen") >= F.col("wstart")) & (F.col("first_seen") >= F.lit(grace_start)))
                          .cast("int")).alias("new_domains"),
                    F.sum(F.col("popular").isNull().cast("int")).alias("rare_domains")))
        order = Window.partitionBy("etype", "key", "wkind", "wstart", "dest").orderBy("ts")
        gaps = (w.select("etype", "key", "wkind", "wstart", "dest", "ts")
                .withColumn("gap", F.col("ts").cast("double") - F.lag(F.col("ts").cast("double")).over(order))
                .groupBy("etype", "key", "wkind", "wstart", "dest")
                .agg(F.count(F.lit(1)).alias("n"), F.avg("gap").alias("mg"), F.stddev("gap").alias("sg"))
                .where((F.col("n") >= BEACON_MIN_CONNECTIONS) & (F.col("mg") > 0))
                .withColumn("b", F.greatest(F.lit(0.0), F.lit(1.0) - F.col("sg") / F.col("mg")))
                .groupBy("etype", "key", "wkind", "wstart").agg(F.max("b").alias("beacon_score")))
        agg = (main.join(doms, ["etype", "key", "wkind", "wstart"], "left")
               .join(gaps, ["etype", "key", "wkind", "wstart"], "left")
               .fillna(0, subset=["new_domains", "rare_domains", "beacon_score", "deny_ratio", "failed_logins",
                                  "off_hours_ratio"]))
        out = agg if out is None else out.unionByName(agg)
    if out is None:
        raise ValueError("no window kinds given")
    return out.select("etype", "key", "peer", "wkind", "wstart", _slot(tz, work_hours).alias("slot"), *BASE_NAMES)


def _slot(tz: str, work_hours: tuple[int, int]) -> Any:
    """``work`` for a weekday window in working hours (a weekday for day windows), else ``off``.

    Own history is compared within a slot: a host's 10:00 hour is judged against its working hours, not
    against a median dragged down by its quiet nights.
    """
    from pyspark.sql import functions as F

    local = F.from_utc_timestamp(F.col("wstart"), tz)
    weekday = ~F.dayofweek(local).isin(1, 7)
    in_hours = (F.hour(local) >= work_hours[0]) & (F.hour(local) < work_hours[1])
    work = F.when(F.col("wkind") == "day", weekday).otherwise(weekday & in_hours)
    return F.when(work, F.lit("work")).otherwise(F.lit("off"))


def modelled(col: str) -> Any:
    """The value the model sees for base feature ``col`` (log1p for counts and bytes)."""
    from pyspark.sql import functions as F

    return F.log1p(F.col(col).cast("double")) if col in LOGGED else F.col(col).cast("double")


def self_stats(windows_df: Any) -> Any:
    """Per (etype, key, wkind, slot): median and robust scale of each modelled feature, and history length."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("hist_n")]
    for n in BASE_NAMES:
        v = modelled(n)
        aggs += [F.percentile_approx(v, 0.5, 1000).alias(f"med_{n}"),
                 ((F.percentile_approx(v, 0.75, 1000) - F.percentile_approx(v, 0.25, 1000)) / 1.349)
                 .alias(f"iqr_{n}"),
                 F.stddev_pop(v).alias(f"sd_{n}")]
    return windows_df.groupBy("etype", "key", "wkind", "slot").agg(*aggs)


def peer_stats(windows_df: Any) -> Any:
    """Per (etype, peer, wkind, wstart): median, IQR, sum and sum of squares of each feature among the peers.

    The sums let :func:`with_deviations` compute each entity's peer spread *without* the entity itself: an
    outlier among 8 peers otherwise inflates the standard deviation it is measured with, and its peer z-score
    can never exceed about 6.
    """
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("peer_all")]
    for n in BASE_NAMES:
        v = modelled(n)
        aggs += [F.percentile_approx(v, 0.5, 1000).alias(f"pmed_{n}"),
                 ((F.percentile_approx(v, 0.75, 1000) - F.percentile_approx(v, 0.25, 1000)) / 1.349)
                 .alias(f"piqr_{n}"),
                 F.sum(v).alias(f"psum_{n}"), F.sum(v * v).alias(f"psq_{n}")]
    return windows_df.groupBy("etype", "peer", "wkind", "wstart").agg(*aggs)


def global_scales(windows_df: Any) -> dict[tuple[str, str, str], float]:
    """Spread of each modelled feature over all windows of a kind (a quarter of it floors per-entity scales)."""
    from pyspark.sql import functions as F

    aggs = [F.stddev_pop(modelled(n)).alias(n) for n in BASE_NAMES]
    out: dict[tuple[str, str, str], float] = {}
    for r in windows_df.groupBy("etype", "wkind").agg(*aggs).collect():
        for n in BASE_NAMES:
            out[(r["etype"], r["wkind"], n)] = float(r[n] or 0.0)
    return out


def floor_of(n: str, spread: float) -> float:
    """Smallest scale of base feature ``n``: a quarter of its spread over all windows, at least the kind's floor."""
    return max(0.25 * spread, LOG_FLOOR if n in LOGGED else RATIO_FLOOR)


def with_deviations(windows_df: Any, selfs: Any, peers: Any, floors: dict[tuple[str, str, str], float]) -> Any:
    """Add ``v_*`` (modelled value), ``zself_*``/``zpeer_*`` (clipped robust z), their one-sided ``self_*``/
    ``peer_*``, the model's ``dev_*`` (the smaller one-sided z where both references exist) and the usual values.

    ``peer_n`` is the number of *other* entities of the peer group active in the window.
    """
    from pyspark.sql import functions as F

    df = (windows_df.join(selfs, ["etype", "key", "wkind", "slot"], "left")
          .join(peers, ["etype", "peer", "wkind", "wstart"], "left"))
    floor_map = F.create_map(*[x for (et, wk, n), v in floors.items()
                               for x in (F.lit(f"{et}|{wk}|{n}"), F.lit(floor_of(n, v)))])
    others = F.coalesce(F.col("peer_all"), F.lit(1)) - 1
    has_self = F.coalesce(F.col("hist_n"), F.lit(0)) >= MIN_HISTORY
    has_peer = others >= MIN_PEERS
    cols = []
    for n in BASE_NAMES:
        v = modelled(n)
        fl = F.coalesce(floor_map[F.concat_ws("|", F.col("etype"), F.col("wkind"), F.lit(n))],
                        F.lit(floor_of(n, 0.0)))
        # peers' spread without this entity (leave-one-out moments; none when it is alone in its group)
        loo_mean = F.when(others > 0, (F.col(f"psum_{n}") - v) / others)
        loo_var = F.when(others > 0, (F.col(f"psq_{n}") - v * v) / others) - loo_mean * loo_mean
        loo_sd = F.sqrt(F.greatest(loo_var, F.lit(0.0)))
        s_scale = F.greatest(F.coalesce(F.col(f"iqr_{n}"), F.lit(0.0)),
                             F.coalesce(F.col(f"sd_{n}"), F.lit(0.0)) * 0.5, fl)
        p_scale = F.greatest(F.coalesce(F.col(f"piqr_{n}"), F.lit(0.0)), F.coalesce(loo_sd, F.lit(0.0)) * 0.5, fl)
        clip = lambda c: F.greatest(F.lit(-Z_CLIP), F.least(F.lit(Z_CLIP), F.coalesce(c, F.lit(0.0))))  # noqa: E731
        selfz = clip(F.when(has_self, (v - F.col(f"med_{n}")) / s_scale))
        peerz = clip(F.when(has_peer, (v - F.col(f"pmed_{n}")) / p_scale))
        s1, p1 = F.greatest(F.lit(0.0), selfz), F.greatest(F.lit(0.0), peerz)
        dev = F.when(has_self & has_peer, F.least(s1, p1)).when(has_self, s1).when(has_peer, p1).otherwise(0.0)
        cols += [v.alias(f"v_{n}"), selfz.alias(f"zself_{n}"), peerz.alias(f"zpeer_{n}"),
                 s1.alias(f"self_{n}"), p1.alias(f"peer_{n}"), dev.alias(f"dev_{n}"),
                 F.when(has_self, F.col(f"med_{n}")).alias(f"usual_{n}"),
                 F.when(has_peer, F.col(f"pmed_{n}")).alias(f"peerusual_{n}")]
    return df.select("etype", "key", "peer", "wkind", "wstart", "slot",
                     F.coalesce(F.col("hist_n"), F.lit(0)).alias("hist_n"), others.alias("peer_n"), *cols)
