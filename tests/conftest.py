"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def realdata() -> Path:
    """The real sample files beside the clone (../shared/realdata)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real sample data not found at {REALDATA} (shared/ must sit beside the clone)")
    return REALDATA


@pytest.fixture
def schema_path() -> Path:
    return SCHEMA
