"""The optional C extensions (``setup.py``): a missing one is slower, not wrong, but a build that silently failed
must not go unnoticed, so each extension's tests call :func:`require_built`."""

from __future__ import annotations

import os
from typing import Any

import pytest


def require_built(module: Any, source: str) -> None:
    """Fail unless ``module`` was imported; skip when ``SOC_TEST_ALLOW_PURE_PYTHON=1`` says pure Python is expected."""
    if os.environ.get("SOC_TEST_ALLOW_PURE_PYTHON") == "1":
        pytest.skip("SOC_TEST_ALLOW_PURE_PYTHON=1")
    assert module is not None, f"{source} was not built: run `make setup` (pip install -e . with gcc) and read its output"
