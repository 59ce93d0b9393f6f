"""Regulatory profiles: deadlines, serious-incident criteria and forms, kept as versioned data.

The Vietnamese rules changed in 2025-2026 (MIC -> MPS, Decree 331/2026), so
nothing regulatory is hard-coded: ``playbooks/profiles/<name>.yaml`` says which
deadlines run from T0 (discovery) or from the end of the response, which incidents
count as serious, and which forms apply. ``settings.incidents.profile`` picks one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

IMPACTS = ("service_disruption", "secret_data_disclosure", "integrity_loss", "loss_of_control", "wide_scale",
           "personal_data_breach", "national_security")
"""Impact types an incident can carry (Decision 05/2017 art. 8 list, plus personal data and national security)."""


class ProfileError(Exception):
    """A profile file is missing or invalid; the message names the file, the field and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text2(_Strict):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class DeadlineRule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: Text2
    anchor: Literal["t0", "response_end"] = "t0"
    """``t0``: discovery time; ``response_end``: when the incident is resolved."""
    minutes: int = Field(ge=0)
    """0 means immediately."""
    applies_to: Literal["all", "serious", "national_security", "personal_data"] = "all"
    recipient: str = "national"
    """Who must receive it: ``national`` (layer 4), ``agency`` (layer 1), ``owner``..."""
    satisfied_by: list[str] = []
    """Timeline kinds that fulfil it (``layer4:sent``, ``notice:sent``, ``form:final``...)."""


class SeriousCriteria(_Strict):
    min_system_level: int = Field(ge=1, le=5)
    impacts: list[Literal[IMPACTS]] = Field(min_length=1)  # type: ignore[valid-type]
    """An incident is serious when the system level is at least ``min_system_level`` AND it has one of these."""
    description: Text2


class FormRef(_Strict):
    id: Literal["form03", "final"]
    title: Text2
    legal_basis: str


class Profile(_Strict):
    name: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    version: str
    valid_from: date
    valid_to: date | None = None
    authority: Text2
    legal_basis: list[str] = Field(min_length=1)
    national_recipient: Text2
    deadlines: list[DeadlineRule] = Field(min_length=1)
    serious: SeriousCriteria
    forms: list[FormRef] = []
    notes: str | None = None

    def is_serious(self, system_level: int | None, impacts: list[str]) -> bool:
        return (system_level or 0) >= self.serious.min_system_level and bool(
            set(impacts) & set(self.serious.impacts))

    def compute_deadlines(self, *, t0: datetime, resolved_at: datetime | None, serious: bool,
                          national_security: bool, personal_data: bool,
                          met: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """Deadlines that apply to an incident: ``id -> {label_vi, label_en, due, anchor, met_at}``.

        ``due`` is ``None`` while its anchor (end of response) has not happened yet.
        ``met`` maps deadline ids to the time they were fulfilled (from the timeline).
        """
        flags = {"all": True, "serious": serious, "national_security": national_security,
                 "personal_data": personal_data}
        out: dict[str, dict[str, Any]] = {}
        for d in self.deadlines:
            if not flags[d.applies_to]:
                continue
            base = t0 if d.anchor == "t0" else resolved_at
            due = (base + timedelta(minutes=d.minutes)) if base is not None else None
            out[d.id] = {"label_vi": d.label.vi, "label_en": d.label.en, "anchor": d.anchor,
                         "minutes": d.minutes, "applies_to": d.applies_to, "recipient": d.recipient,
                         "due": due.isoformat() if due else None, "met_at": (met or {}).get(d.id)}
        return out


def _errors(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s):"]
    for e in exc.errors():
        lines.append(f"  - {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}")
    return "\n".join(lines)


def load_profile(playbooks_dir: str | Path, name: str) -> Profile:
    path = Path(playbooks_dir) / "profiles" / f"{name}.yaml"
    if not path.exists():
        avail = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.exists() else []
        raise ProfileError(f"{path}: regulatory profile {name!r} not found (available: {', '.join(avail) or 'none'}); "
                           "set incidents.profile in soc.toml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    try:
        prof = Profile.model_validate(raw or {})
    except ValidationError as exc:
        raise ProfileError(_errors(path, exc)) from None
    if prof.name != name:
        raise ProfileError(f"{path}: name: is {prof.name!r} but the file is {name!r}.yaml")
    ids = [d.id for d in prof.deadlines]
    if len(set(ids)) != len(ids):
        raise ProfileError(f"{path}: deadlines: ids must be unique")
    return prof


def list_profiles(playbooks_dir: str | Path) -> list[str]:
    return sorted(p.stem for p in (Path(playbooks_dir) / "profiles").glob("*.yaml"))
