"""One SparkSession built from configuration, and reading the event store into it.

The master and every ``spark.*`` option come from ``settings.anomaly`` so the
same jobs run in ``local[*]`` on one machine or on a cluster. Java is checked
before pyspark tries to start a JVM: without it pyspark fails with an obscure
gateway error, and the service must go on without the anomaly model.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import warnings
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from detectors.anomaly.errors import EmptyWindowError, SparkUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from soc.config import AnomalyConfig

_lock = threading.Lock()

#: Spark options we set unless the configuration says otherwise (small machine, no web UI).
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.shuffle.partitions": "8",
    "spark.python.worker.reuse": "true",
}


#: In local mode the driver talks only to itself: keep it on the loopback interface.
LOCAL_CONF: dict[str, str] = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def java_executable() -> str | None:
    """Path of the ``java`` Spark will use (``$JAVA_HOME/bin/java`` first, as spark-submit does)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        cand = Path(home) / "bin" / "java"
        return str(cand) if cand.exists() else None
    return shutil.which("java")


def check_java() -> str:
    """Return the java path or raise :class:`SparkUnavailableError` saying what to install."""
    java = java_executable()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") else \
            "no 'java' on PATH"
        raise SparkUnavailableError(
            f"Spark needs Java 17 or 21 and none was found ({where}). Install it (Debian/Ubuntu: "
            "'apt-get install openjdk-17-jre-headless') or set JAVA_HOME; the rest of the SOC keeps running "
            "without the anomaly model.")
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(f"pyspark is not installed ({exc}); run 'pip install pyspark'") from None
    return java


def get_spark(cfg: AnomalyConfig, app_name: str = "soc-anomaly") -> SparkSession:
    """The process-wide SparkSession (created on first use with ``cfg``'s master and options)."""
    check_java()
    from pyspark.sql import SparkSession

    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        # Python workers must run this interpreter (the one with pandas, scikit-learn and our packages),
        # not whatever "python3" is first on PATH; a cluster sets spark.pyspark.python in spark_conf.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # pyspark 4 warns on every pandas UDF call that pandas 3 is "not yet fully supported"; our UDFs are
        # tested with it, and the warning floods the CLI output and the workers' stderr
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder.appName(app_name).master(cfg.spark_master)
        local = dict(LOCAL_CONF) if cfg.spark_master.startswith("local") else {}
        for k, v in {**DEFAULT_CONF, **local, **cfg.spark_conf}.items():
            builder = builder.config(k, v)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # the JVM failed to start: report it as unavailable, not a crash
            raise SparkUnavailableError(f"Spark could not start with master {cfg.spark_master!r}: {exc}") from None
        spark.sparkContext.setLogLevel("ERROR")
        return spark


def event_files(events_dir: Path, start: datetime, end: datetime) -> list[str]:
    """Day partition folders of ``events_dir`` that overlap [start, end) and hold Parquet files."""
    out: list[str] = []
    if not events_dir.is_dir():
        return out
    first, last = start.date().isoformat(), end.date().isoformat()
    for day in sorted(events_dir.glob("day=*")):
        d = day.name[4:]
        if first <= d <= last and any(day.glob("dataset=*/*.parquet")):
            out.append(str(day))
    return out


def read_events(spark: SparkSession, events_dir: Path, start: datetime, end: datetime,
                columns: list[str] | None = None) -> DataFrame:
    """Events with ``start <= ts < end`` from the Parquet store, only the day partitions needed.

    Raises :class:`EmptyWindowError` when no partition overlaps the window.
    """
    from pyspark.sql import functions as F

    days = event_files(events_dir, start, end)
    if not days:
        raise EmptyWindowError(
            f"no stored events between {start.isoformat()} and {end.isoformat()} under {events_dir}; "
            "ingest events first or choose another --from/--to")
    df = spark.read.option("basePath", str(events_dir)).option("mergeSchema", "false").parquet(*days)
    if columns is not None:
        have = set(df.columns)
        df = df.select(*[F.col(c) if c in have else F.lit(None).cast(_spark_type(c)).alias(c) for c in columns])
    return df.where((F.col("ts") >= F.lit(start)) & (F.col("ts") < F.lit(end)))


def _spark_type(column: str) -> str:
    import pyarrow as pa

    from soc.storage.schema import COLUMNS

    typ = COLUMNS[column][1] if column in COLUMNS else pa.string()
    if pa.types.is_timestamp(typ):
        return "timestamp"
    return "bigint" if pa.types.is_integer(typ) else "string"


def stop_spark() -> None:
    from pyspark.sql import SparkSession

    s = SparkSession.getActiveSession()
    if s is not None:
        s.stop()


def spark_memory_note(spark: Any) -> str:
    return str(spark.sparkContext.getConf().get("spark.driver.memory", "default"))
