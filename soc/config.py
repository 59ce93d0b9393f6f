"""Configuration: one TOML file (``soc.toml``), validated by pydantic, overridable by environment.

Every setting has a default that works on one machine with nothing installed,
so ``soc run`` starts without a config file at all. Environment variables
override the file: ``SOC_<SECTION>__<KEY>`` (for instance ``SOC_API__PORT=8001``
or ``SOC_STORAGE__EVENTS_BACKEND=elasticsearch``). A wrong key or value is
reported by :class:`ConfigError` with its location and the expected form.
"""

from __future__ import annotations

import os
import tomllib
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path("soc.toml")


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who wrote the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Ho_Chi_Minh' or 'UTC'") from None
    return value


class SourceConfig(_Section):
    """One input. ``type`` chooses the transport; ``format`` the parser (``auto`` detects per line)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    type: Literal["syslog_udp", "syslog_tcp", "syslog_tls", "file", "http", "evtx"]
    format: str = "auto"
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    path: str | None = None
    """File or glob for ``file``/``evtx`` sources."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """Zone of timestamps that carry none (Vietnam is UTC+7)."""
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    token: SecretStr | None = None
    """Bearer token that HTTP ingest requires for this source."""
    silent_after_minutes: int | None = Field(default=60, ge=1)
    """Raise a health alert when a source that normally sends is silent this long (None: never)."""
    max_line_bytes: int = Field(default=1_048_576, ge=1024)
    host_name: str | None = None
    """Machine the logs come from, for formats that do not name it (``host.name``, as Filebeat adds)."""
    enabled: bool = True
    handshake_timeout_seconds: float = Field(default=10.0, gt=0)
    """TLS sources drop a client that has not finished its handshake by then (so it cannot hold a slot)."""
    idle_timeout_seconds: float = Field(default=3600.0, gt=0)
    """Stream connections that send nothing for this long are closed."""
    max_connections: int = Field(default=1024, ge=1)
    """Concurrent connections a TCP/TLS/HTTP source accepts; more are refused and counted."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest HTTP ingest request body; larger requests get 413."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @field_validator("format")
    @classmethod
    def _fmt(cls, v: str) -> str:
        from connectors.parsers import FORMATS

        if v != "auto" and v not in FORMATS:
            raise ValueError(f"unknown format {v!r}; expected one of: auto, {', '.join(sorted(FORMATS))}")
        return v

    @model_validator(mode="after")
    def _needs(self) -> SourceConfig:
        if self.type in ("syslog_udp", "syslog_tcp", "syslog_tls", "http") and self.port is None:
            raise ValueError(f"source {self.name!r} of type {self.type} needs a 'port'")
        if self.type in ("file", "evtx") and not self.path:
            raise ValueError(f"source {self.name!r} of type {self.type} needs a 'path'")
        if self.type == "syslog_tls" and not (self.tls_cert and self.tls_key):
            raise ValueError(f"source {self.name!r} of type syslog_tls needs 'tls_cert' and 'tls_key'")
        return self

    def tzinfo(self) -> tzinfo:
        return ZoneInfo(self.timezone)


class ElasticsearchConfig(_Section):
    """Elasticsearch event store (when ``events_backend = \"elasticsearch\"``)."""

    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "soc-events"
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    verify_certs: bool = True
    ca_certs: str | None = None


class StorageConfig(_Section):
    """Where events and state are kept."""

    events_backend: Literal["parquet", "elasticsearch"] = "parquet"
    """``parquet``: local columnar files under ``data_dir/events`` read by DuckDB and Spark."""
    retention_days: int = Field(default=180, ge=1)
    """Event partitions older than this are deleted (TCVN 14423: 3 months for level 3, 6 for 4, 12 for 5)."""
    state_url: str = ""
    """SQLAlchemy URL of the state database; empty means ``sqlite:///<data_dir>/state.db``."""
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()


class PipelineConfig(_Section):
    """Batching between the spool and the pipeline."""

    batch_size: int = Field(default=2000, ge=1)
    flush_interval_ms: int = Field(default=500, ge=10)
    queue_max_records: int = Field(default=100_000, ge=100)
    """Bounded queue between sources and the pipeline; TCP and HTTP senders wait when it is full."""
    workers: int | Literal["auto"] = "auto"
    """Processes that parse, normalise and enrich records in parallel (``soc/prepare.py``); ``0`` does it in
    the service process. ``auto``: one per CPU core on machines with two or more."""

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 0 <= v <= 64:
            raise ValueError("must be between 0 and 64, or \"auto\"")
        return v


class DetectionConfig(_Section):
    """Sigma rules and correlation."""

    rules_dirs: list[str] = ["rules"]
    reload: bool = True
    """Reload rules when their files change, without a restart."""
    correlation_lateness_seconds: int = Field(default=60, ge=0)
    correlation_max_state: int = Field(default=200_000, ge=100)
    regex_timeout_ms: int = Field(default=50, ge=1)
    placeholders: dict[str, list[str]] = {}
    """Values of Sigma ``%placeholder%`` names used with the ``expand`` modifier (e.g. ``Administrators``);
    rules using a placeholder without values here are rejected with that reason."""


class AnomalyConfig(_Section):
    """Spark anomaly model."""

    """Spark anomaly model (``docs/anomaly.md``): per-event and per-entity Isolation Forests."""

    enabled: bool = True
    spark_master: str = "local[*]"
    """``local[*]`` on one machine; ``spark://host:7077`` or ``yarn`` runs the same jobs on a cluster."""
    spark_conf: dict[str, str] = {"spark.driver.memory": "2g", "spark.sql.shuffle.partitions": "8"}
    schedule_minutes: int = Field(default=60, ge=1)
    """``soc run`` scores the events of the last period this often (and retrains when the model is stale)."""
    baseline_days: int = Field(default=14, ge=1)
    """Training window: the days before the scored window."""
    threshold: float = Field(default=0.7, ge=0, le=1)
    """Alert when the Isolation Forest score (0-1, 0.5 ordinary, near 1 isolated at once) reaches this..."""
    alert_quantile: float = Field(default=0.999, gt=0.5, le=1)
    """...or when the score is above this share of the baseline's own scores (0.999: the top 0.1%)."""
    seed: int = 42
    families: list[Literal["event", "entity"]] = ["event", "entity"]
    """Model families: ``event`` scores each firewall/proxy event; ``entity`` each host/user/agency window."""
    entity_types: list[Literal["host", "user", "agency"]] = ["host", "user", "agency"]
    windows: list[Literal["hour", "day"]] = ["hour", "day"]
    train_max_rows: int = Field(default=200_000, ge=100)
    """Training sample size per model (a deterministic hash sample of the baseline, so training is reproducible)."""
    n_estimators: int = Field(default=200, ge=10, le=2000)
    max_alerts_per_run: int = Field(default=200, ge=1)
    """Highest-scoring alerts kept per family and run; the rest are counted in the summary."""
    retrain_hours: int = Field(default=24, ge=1)
    """The scheduler retrains when the newest model is older than this."""
    work_hours: tuple[int, int] = (7, 18)
    """Local working hours [start, end); events outside them or at weekends count as off-hours."""
    suppress_similarity: float = Field(default=2.0, ge=1.0)
    """A benign verdict suppresses alerts on the same entity whose top features are each within this factor."""


class SmtpConfig(_Section):
    """Mail server for notices to agencies."""

    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    sender: str = "soc@haiphong.gov.vn"


class IncidentsConfig(_Section):
    """Incidents, playbooks, regulatory profile and notice delivery."""

    profile: str = "vn-2026"
    """Regulatory profile (``playbooks/profiles/<name>.yaml``) giving deadlines and forms."""
    playbooks_dir: str = "playbooks"
    dedup_window_minutes: int = Field(default=60, ge=1)
    group_window_minutes: int = Field(default=240, ge=1)
    public_base_url: str = "http://127.0.0.1:8000"
    """Base of the signed acknowledgement links sent to agencies."""
    signing_key: SecretStr = SecretStr("")
    """Key for acknowledgement links; empty means one generated and kept in ``data_dir``."""
    soc_lead_email: str = "soc-lead@haiphong.gov.vn"
    smtp: SmtpConfig = SmtpConfig()
    delivery_enabled: bool = True
    soc_name: str = "Trung tâm Giám sát an toàn thông tin mạng thành phố Hải Phòng (SOC)"
    """Reporting organisation named on notices and forms."""
    soc_address: str = "Hải Phòng, Việt Nam"
    soc_phone: str = ""
    soc_email: str = "soc@haiphong.gov.vn"
    soc_lead_name: str = "SOC lead / Trưởng ca SOC"
    ack_link_days: int = Field(default=7, ge=1)
    """Validity of the signed acknowledgement links."""
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: int = Field(default=30, ge=1)
    """First retry delay; doubles on every failure up to ``outbox_backoff_max_seconds``."""
    outbox_backoff_max_seconds: int = Field(default=3600, ge=1)
    outbox_sending_timeout_seconds: int = Field(default=300, ge=1)
    """A row 'sending' longer than this belongs to a worker that died and is recovered."""
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    worker_interval_seconds: float = Field(default=5, gt=0)
    """How often the delivery worker sends due notices and checks for escalations."""
    risk_half_life_hours: float = Field(default=24, gt=0)
    """Entity risk scores halve over this time without new alerts."""


class SharingConfig(_Section):
    """Layer 4: sharing with the national monitoring centre, and threat-intelligence feeds."""

    enabled: bool = False
    """Push incidents to the national centre (layer 4)."""
    auto_share_serious: bool = True
    """When enabled, serious incidents are queued for the national centre without waiting for an analyst."""
    channel: Literal["taxii", "email", "syslog_cef"] = "taxii"
    taxii_url: str = ""
    taxii_api_root: str = ""
    taxii_collection: str = ""
    taxii_username: str | None = None
    taxii_password: SecretStr | None = None
    email_to: str | None = None
    cef_host: str | None = None
    cef_port: int = 514
    share_internal_addresses: bool = False
    share_user_names: bool = False
    organisation_name: str = "Hai Phong City SOC"
    feeds: list[dict[str, Any]] = []
    """Threat-intelligence feeds: ``{name, type: taxii|csv|misp, url|path, interval_minutes}``."""
    taxii_verify_tls: bool = True
    taxii_timeout_seconds: float = Field(default=30, gt=0)
    cef_protocol: Literal["udp", "tcp"] = "udp"
    destinations: list[dict[str, Any]] = []
    """Several layer-4 destinations, each ``{name, channel: taxii|email|syslog_cef, ...channel settings}``;
    empty means one destination built from the flat ``channel``/``taxii_*``/``email_to``/``cef_*`` keys."""
    internal_networks: list[str] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                    "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"]
    """Addresses treated as internal: withheld from shared objects unless ``share_internal_addresses``."""
    own_domains: list[str] = ["haiphong.gov.vn"]
    """Domains (and their subdomains) of the city: never exported as indicators, they are the victims."""
    share_agency_identity: bool = True
    """Name the affected agency in exported incidents (otherwise an anonymous 'Hai Phong city agency')."""
    incident_tlp: str = "amber+strict"
    """TLP of exported incidents; an incident flagged 'keep confidential' gets ``confidential_tlp``."""
    confidential_tlp: str = "red"
    indicator_tlp: str = "green"
    organisation_email: str | None = None
    max_indicators_per_incident: int = Field(default=500, ge=1)
    intel_alert_level: Literal["low", "medium", "high", "critical"] = "high"
    """Level of alerts raised by an indicator match (a feed may set its own ``level``)."""
    intel_reload_seconds: int = Field(default=60, ge=1)
    """How often the running matcher picks up indicators added by pulls or ``soc intel add``."""
    taxii_page_size: int = Field(default=100, ge=1, le=10000)
    """Largest page our own TAXII server returns."""


class ApiConfig(_Section):
    """HTTP API and web console."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr = SecretStr("")
    """Session and CSRF signing key; empty means one generated and kept in ``data_dir``."""
    session_minutes: int = Field(default=480, ge=1)
    max_failed_logins: int = Field(default=5, ge=1)


class DemoConfig(_Section):
    """The demo replay used by ``make run``."""

    replay: bool = False
    """Replay ``demo/`` through the pipeline at start (``make run`` turns this on)."""
    path: str = "demo"
    """Folder of the demo generator."""
    mail_sink: bool = True
    """With the replay on, deliver notices to a local SMTP sink that saves them under ``data_dir/mail``."""


class Settings(_Section):
    """The whole configuration; see ``soc.toml`` for every key with its default."""

    data_dir: Path = Path("data")
    """Where events (Parquet), the state database, the spool and models are kept."""
    inventory: Path = Path("inventory.yaml")
    """Agencies, systems, security levels and the four protection layers' contacts."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """Zone of timestamps that carry none, unless a source sets its own."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Service log verbosity (secrets are never logged)."""
    sources: list[SourceConfig] = []
    """Log inputs; see ``[[sources]]`` below."""
    storage: StorageConfig = StorageConfig()
    pipeline: PipelineConfig = PipelineConfig()
    detection: DetectionConfig = DetectionConfig()
    anomaly: AnomalyConfig = AnomalyConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    sharing: SharingConfig = SharingConfig()
    api: ApiConfig = ApiConfig()
    demo: DemoConfig = DemoConfig()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @model_validator(mode="after")
    def _unique_sources(self) -> Settings:
        names = [s.name for s in self.sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"source names must be unique; repeated: {', '.join(sorted(dup))}")
        ports = [(s.type.replace("syslog_tls", "tcp").replace("syslog_tcp", "tcp").replace("http", "tcp"),
                  s.host, s.port) for s in self.sources if s.port and s.enabled]
        clash = {p for p in ports if ports.count(p) > 1}
        if clash:
            raise ValueError(f"two sources listen on the same address: {sorted(clash)}")
        return self

    def tzinfo(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def state_url(self) -> str:
        return self.storage.state_url or f"sqlite:///{(self.data_dir / 'state.db').as_posix()}"

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``SOC_A__B=v`` -> ``{"a": {"b": v}}``; values are parsed as TOML scalars when they can be."""
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("SOC_") or key.startswith("SOC_TEST_") or key == "SOC_CONFIG":
            continue
        path = key[4:].lower().split("__")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        cur = out
        for p in path[:-1]:
            cur = cur.setdefault(p, {})
        cur[path[-1]] = value
    return out


def _format_errors(exc: ValidationError, origin: str) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s) in the configuration:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against soc.toml.example / docs/configuration.md)"
        inp = err.get("input")
        shown = "" if isinstance(inp, dict | list) else f" (got {inp!r})"
        lines.append(f"  - {loc}: {msg}{shown}")
    return "\n".join(lines)


def load_config(path: str | Path | None = None, *, environ: dict[str, str] | None = None,
                required: bool = False) -> Settings:
    """Load ``path`` (default ``$SOC_CONFIG`` or ``./soc.toml``), apply environment overrides, validate.

    A missing file is fine unless ``required`` (or the path was named explicitly): defaults serve.
    """
    env = dict(os.environ if environ is None else environ)
    explicit = path is not None or "SOC_CONFIG" in env
    p = Path(path or env.get("SOC_CONFIG") or DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if p.exists():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{p}: not UTF-8 text: {exc}") from None
    elif explicit or required:
        raise ConfigError(f"{p}: configuration file not found; copy soc.toml from the repository or omit --config")
    data = _merge(data, _env_overrides(env))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, str(p))) from None
    # Relative paths are relative to the config file's folder, so that `soc -c /etc/soc/soc.toml` works anywhere.
    base = p.resolve().parent if p.exists() else Path.cwd()
    for attr in ("data_dir", "inventory"):
        v = getattr(settings, attr)
        if not v.is_absolute():
            setattr(settings, attr, base / v)
    settings.detection.rules_dirs = [str(base / d) if not Path(d).is_absolute() else d
                                     for d in settings.detection.rules_dirs]
    if not Path(settings.incidents.playbooks_dir).is_absolute():
        settings.incidents.playbooks_dir = str(base / settings.incidents.playbooks_dir)
    if not Path(settings.demo.path).is_absolute():
        settings.demo.path = str(base / settings.demo.path)
    return settings


def reference_markdown() -> str:
    """Every setting with its type, default and description, as ``docs/configuration.md`` shows them."""
    lines = ["# Configuration reference", "",
             "Generated by `soc config docs` from `soc/config.py`; every key is optional. Set them in `soc.toml` or",
             "override with environment variables `SOC_<SECTION>__<KEY>` (e.g. `SOC_API__PORT=8001`,",
             "`SOC_STORAGE__RETENTION_DAYS=365`). Relative paths are relative to the configuration file.", ""]

    def section(model: type[BaseModel], prefix: str) -> None:
        nested: list[tuple[str, type[BaseModel]]] = []
        rows = []
        for name, f in model.model_fields.items():
            ann = f.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                nested.append((name, ann))
                continue
            default = f.get_default(call_default_factory=True)
            if isinstance(default, SecretStr):
                default = "(secret)" if default.get_secret_value() else ""
            if isinstance(default, Path):
                default = str(default)
            if isinstance(default, list) and default and isinstance(default[0], BaseModel):
                default = "[...]"
            typ = str(ann).replace("typing.", "").replace("<class '", "").replace("'>", "").replace("|", "\\|")
            desc = (f.description or "").replace("\n", " ").replace("|", "\\|")
            rows.append(f"| `{name}` | `{typ}` | `{default!r}` | {' '.join(desc.split())} |")
        if rows:
            lines.extend([f"## `[{prefix}]`" if prefix else "## top level", "",
                          (model.__doc__ or "").strip().split("\n")[0], "",
                          "| key | type | default | meaning |", "|---|---|---|---|", *rows, ""])
        for name, sub in nested:
            section(sub, f"{prefix}.{name}" if prefix else name)

    section(Settings, "")
    lines += ["## `[[sources]]`", "", (SourceConfig.__doc__ or "").strip(), "",
              "| key | type | default | meaning |", "|---|---|---|---|"]
    for name, f in SourceConfig.model_fields.items():
        default = f.get_default(call_default_factory=True) if not f.is_required() else "(required)"
        typ = str(f.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "").replace("|", "\\|")
        desc = " ".join((f.description or "").split()).replace("|", "\\|")
        lines.append(f"| `{name}` | `{typ}` | `{default!r}` | {desc} |")
    return "\n".join(lines) + "\n"
