"""Router configuration: the cloud price table and the per-request cost arithmetic the eval and budget use."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from frugalstack.shared.errors import ConfigError


@dataclass(frozen=True)
class PriceTier:
    name: str
    input_per_1m: float
    output_per_1m: float
    per_call: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for one cloud call."""
        return self.per_call + (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    text = (Path(path).read_text(encoding="utf-8") if path is not None else
            (resources.files("frugalstack.edge.router") / "data" / "prices.yaml").read_text(encoding="utf-8"))
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "tiers" not in data:
        raise ConfigError(f"price table {path or 'prices.yaml'} needs a 'tiers' mapping")
    return data


def price_tier(name: str | None = None, path: str | Path | None = None) -> PriceTier:
    data = load_prices(path)
    name = name or data.get("default_tier")
    if name not in data["tiers"]:
        raise ConfigError(f"unknown price tier {name!r}", hint=f"one of {sorted(data['tiers'])}")
    return PriceTier(name=str(name), **data["tiers"][name])


def device_usd_per_kwh(path: str | Path | None = None) -> float:
    return float(load_prices(path).get("device", {}).get("usd_per_kwh", 0.2))


def energy_j_per_token(profile: Any, tokens_per_s: float | None = None) -> float:
    """Joules per generated token on a device profile: active power over its decode speed.

    Decode speed is the measured one when given, else 95 tok/s (SmolLM2 Q4 on the laptop-x86 reference,
    see FACTS.md) scaled by the profile's ``compute.relative_speed``.
    """
    tps = tokens_per_s or 95.0 * float(profile.compute.relative_speed)
    return float(profile.power_w.active) / max(tps, 1e-6)
