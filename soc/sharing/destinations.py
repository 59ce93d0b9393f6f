"""Layer-4 destinations: where incidents go (TAXII collection, e-mail, syslog/CEF), each chosen per destination.

``sharing.destinations`` lists them; when it is empty one destination named ``national`` is built from
the flat keys (``channel``, ``taxii_*``, ``email_to``, ``cef_*``), so a simple setup needs no list.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from soc.config import SharingConfig


class DestinationError(ValueError):
    pass


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    channel: Literal["taxii", "email", "syslog_cef"]
    enabled: bool = True
    # taxii
    url: str = ""
    """TAXII server base URL (``https://ncsc.example.vn``)."""
    api_root: str = ""
    """API root: a full URL, or a path under ``url`` (``intake``)."""
    collection: str = ""
    username: str | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    timeout_seconds: float = 30
    # email
    email_to: list[str] = []
    # syslog/cef
    host: str | None = None
    port: int = Field(default=514, ge=1, le=65535)
    protocol: Literal["udp", "tcp"] = "udp"
    forward_alerts: bool = False
    """``syslog_cef`` only: also forward every alert live as CEF as it is raised (not only incidents)."""

    def collection_url(self) -> str:
        if not self.collection:
            raise DestinationError(f"destination {self.name!r}: 'collection' (TAXII collection id) is not set")
        root = self.api_root
        if not root.startswith(("http://", "https://")):
            if not self.url:
                raise DestinationError(f"destination {self.name!r}: set 'url' (TAXII server) or a full 'api_root'")
            root = self.url.rstrip("/") + "/" + root.strip("/")
        return root.rstrip("/") + f"/collections/{self.collection}/"

    def check(self) -> Destination:
        if self.channel == "taxii":
            self.collection_url()
        elif self.channel == "email" and not self.email_to:
            raise DestinationError(f"destination {self.name!r}: 'email_to' is empty")
        elif self.channel == "syslog_cef" and not self.host:
            raise DestinationError(f"destination {self.name!r}: 'host' (syslog receiver) is not set")
        return self


def destinations(cfg: SharingConfig) -> list[Destination]:
    """The configured destinations (validated; a mistake names the destination and the key)."""
    out: list[Destination] = []
    if cfg.destinations:
        for i, raw in enumerate(cfg.destinations):
            try:
                out.append(Destination.model_validate(raw))
            except ValidationError as exc:
                name = raw.get("name", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
                probs = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
                raise DestinationError(f"sharing.destinations {name}: {probs}") from None
    else:
        d: dict[str, Any] = {"name": "national", "channel": cfg.channel, "url": cfg.taxii_url,
                             "api_root": cfg.taxii_api_root, "collection": cfg.taxii_collection,
                             "username": cfg.taxii_username, "password": cfg.taxii_password,
                             "verify_tls": cfg.taxii_verify_tls, "timeout_seconds": cfg.taxii_timeout_seconds,
                             "email_to": [cfg.email_to] if cfg.email_to else [], "host": cfg.cef_host,
                             "port": cfg.cef_port, "protocol": cfg.cef_protocol}
        out.append(Destination.model_validate(d))
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise DestinationError(f"sharing.destinations: names must be unique ({', '.join(names)})")
    return out


def get_destination(cfg: SharingConfig, name: str) -> Destination:
    for d in destinations(cfg):
        if d.name == name:
            return d
    raise DestinationError(f"no sharing destination named {name!r}; configured: "
                           f"{', '.join(d.name for d in destinations(cfg)) or '(none)'}")
