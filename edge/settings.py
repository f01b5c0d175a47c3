"""Edge settings, read from ``FRUGAL_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "frugalstack"


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRUGAL_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="data directory of this device")
    model: str = Field("smollm2-135m-instruct-q4_1", description="default chat model id or .gguf path")
    profile: str = Field("auto", description="device profile id, YAML path, or 'auto'")
    telemetry: bool = Field(True, description="keep a local trace record per request")
    record_text: bool = Field(False, description="store prompts and answers in traces (off: privacy)")
    overflow: Literal["error", "truncate"] = Field(
        "error", description="prompt longer than the context: raise, or keep the newest tokens"
    )
    max_input_chars: int = Field(1_000_000, ge=1, description="inputs longer than this are refused unread")
    guard: bool = Field(True, description="guard rails on every chat/ask/stream (FRUGAL_GUARD=0 turns them off)")
    guard_policy: str = Field(
        "runtime", description="guard policy YAML path, or a shipped one: runtime (flags off-topic), default (refuses)"
    )

    @property
    def telemetry_path(self) -> Path:
        return self.home / "telemetry.db"
