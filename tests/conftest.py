"""Test-wide settings: offline hubs, a private data dir, and the real embedded SmolLM2 model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session", autouse=True)
def frugal_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every test's telemetry and stores out of the user's home."""
    home = tmp_path_factory.mktemp("frugal-home")
    old = os.environ.get("FRUGAL_HOME")
    os.environ["FRUGAL_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("FRUGAL_HOME", None)
    else:
        os.environ["FRUGAL_HOME"] = old


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL, get_spec, resolve_path

    return resolve_path(get_spec(DEFAULT_CHAT_MODEL))


@pytest.fixture(scope="session")
def runtime(frugal_home: Path):  # type: ignore[no-untyped-def]
    """One loaded SmolLM2 runtime shared by the session (loading takes ~0.2 s, but keeps memory flat)."""
    from frugalstack.edge.runtime import Runtime

    rt = Runtime(profile="laptop-x86")
    yield rt
    rt.close()
