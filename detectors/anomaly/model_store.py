"""Versioned model files under ``<data_dir>/models/anomaly/<family>/<version>/``.

Each version is a folder with ``model.joblib`` (the fitted objects) and
``manifest.json`` (family, feature schema and names, training window, seed,
row count, library versions and the SHA-256 of the model file). A model is
loaded only when its manifest is present, its checksum matches and its
feature schema is the one this code computes: joblib files are pickles, so we
load only files we wrote, and a model from another schema would silently give
garbage scores.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from detectors.anomaly.errors import ModelNotFoundError, ModelSchemaError


def models_dir(data_dir: Path, family: str) -> Path:
    return data_dir / "models" / "anomaly" / family


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Loaded:
    model: Any
    manifest: dict[str, Any]
    path: Path


def save(data_dir: Path, family: str, model: Any, manifest: dict[str, Any]) -> Path:
    """Write a new version folder and return it; the version name sorts by creation time."""
    import sklearn

    now = datetime.now(UTC)
    fingerprint = hashlib.sha256(json.dumps(
        {k: manifest.get(k) for k in ("feature_schema", "features", "training_window", "seed", "rows")},
        sort_keys=True, default=str).encode()).hexdigest()[:8]
    version = now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + fingerprint
    folder = models_dir(data_dir, family) / version
    folder.mkdir(parents=True, exist_ok=False)
    mfile = folder / "model.joblib"
    joblib.dump(model, mfile, compress=3)
    full = {
        "family": family,
        "version": version,
        "created": now.isoformat(),
        **manifest,
        "model_file": mfile.name,
        "sha256": _sha256(mfile),
        "libraries": {"scikit-learn": sklearn.__version__, "python": platform.python_version()},
    }
    (folder / "manifest.json").write_text(json.dumps(full, indent=2, default=str), encoding="utf-8")
    return folder


def versions(data_dir: Path, family: str) -> list[Path]:
    d = models_dir(data_dir, family)
    return sorted(p for p in d.iterdir() if (p / "manifest.json").exists()) if d.is_dir() else []


def latest(data_dir: Path, family: str) -> Path:
    vs = versions(data_dir, family)
    if not vs:
        raise ModelNotFoundError(
            f"no trained {family} model under {models_dir(data_dir, family)}; run 'soc anomaly train' first")
    return vs[-1]


def load(path: Path, *, family: str, feature_schema: str, features: list[str]) -> Loaded:
    """Load a version folder (or its ``model.joblib``) after checking manifest, checksum and schema."""
    folder = path.parent if path.is_file() else path
    if not folder.exists():
        raise ModelNotFoundError(f"model {path} does not exist")
    mpath = folder / "manifest.json"
    if not mpath.exists():
        raise ModelSchemaError(f"{folder} has no manifest.json: not a model written by 'soc anomaly train'; "
                               "refusing to load it")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelSchemaError(f"{mpath}: unreadable manifest ({exc}); retrain with 'soc anomaly train'") from None
    if manifest.get("family") != family:
        raise ModelSchemaError(f"{folder} is a {manifest.get('family')!r} model, a {family!r} model is needed")
    if manifest.get("feature_schema") != feature_schema or manifest.get("features") != features:
        missing = sorted(set(features) - set(manifest.get("features") or []))
        extra = sorted(set(manifest.get("features") or []) - set(features))
        raise ModelSchemaError(
            f"{folder} was trained with feature schema {manifest.get('feature_schema')!r}, this version computes "
            f"{feature_schema!r} (features missing from the model: {missing or 'none'}; unknown to this "
            f"version: {extra or 'none'}); retrain with 'soc anomaly train'")
    mfile = folder / str(manifest.get("model_file", "model.joblib"))
    if not mfile.exists() or _sha256(mfile) != manifest.get("sha256"):
        raise ModelSchemaError(f"{mfile} is missing or does not match the checksum in its manifest; "
                               "refusing to load it (retrain with 'soc anomaly train')")
    model = joblib.load(mfile)  # noqa: S301 - our own file, checksum verified above
    return Loaded(model=model, manifest=manifest, path=folder)
