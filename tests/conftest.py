"""Shared fixtures: a fresh configuration in a temporary folder, the app context, an API client with users."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()

os.environ.setdefault("SOC_ANOMALY__ENABLED", "false")


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip(f"test material {SHARED} is absent (see DEVELOPERS.md: ../shared beside the repo)")
    return SHARED


def write_config(tmp: Path, extra: str = "") -> Path:
    """A soc.toml in ``tmp`` using the repository's inventory, rules and playbooks."""
    cfg = tmp / "soc.toml"
    inv = REPO / "inventory.yaml"
    cfg.write_text(
        f'data_dir = "{tmp / "data"}"\n'
        f'inventory = "{inv}"\n'
        "[detection]\n"
        f'rules_dirs = ["{REPO / "rules"}"]\n'
        "[incidents]\n"
        f'playbooks_dir = "{REPO / "playbooks"}"\n'
        "delivery_enabled = false\n"
        "[anomaly]\nenabled = false\n"
        "[demo]\n"
        f'path = "{REPO / "demo"}"\n' + extra,
        encoding="utf-8",
    )
    return cfg


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from soc.config import load_config

    return load_config(write_config(tmp_path), environ={})


@pytest.fixture
def ctx(settings) -> Iterator:  # type: ignore[no-untyped-def]
    from soc.context import AppContext

    c = AppContext.build(settings)
    yield c
    c.state.dispose()


@pytest.fixture
def repo() -> Path:
    return REPO


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
