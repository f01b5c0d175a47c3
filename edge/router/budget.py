"""Budget: the escalation threshold moves with what the cloud and the battery can afford today.

A daily cloud budget per device (money and/or calls) raises the threshold as it is spent and forbids the
cloud once it is gone; a metered network raises it; a low battery that is not charging lowers it (the cloud
answer costs the device less energy than generating locally), the more so the more energy the device's
profile spends per generated token. The spend ledger is a small SQLite table, so it survives restarts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from frugalstack.edge.router.types import Decision, RouteContext, Target, ThresholdRouter
from frugalstack.edge.sqlite import connect


@dataclass
class DeviceState:
    """What the app reports about the device right now."""

    battery: float = 1.0  # 0..1
    charging: bool = True
    metered: bool = False
    energy_j_per_token: float = 0.05  # from the device profile: active W / decode tokens per s


@dataclass
class DailyBudget:
    """Per device per day; ``None`` = unlimited on that axis."""

    usd: float | None = None
    calls: int | None = None


class Ledger:
    """Cloud spend per device per UTC day, in SQLite (``:memory:`` for a throwaway one)."""

    def __init__(self, path: str | Path = ":memory:"):
        self._lock = threading.Lock()
        self._conn = connect(path) if str(path) != ":memory:" else __import__("sqlite3").connect(
            ":memory:", check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS cloud_spend (device TEXT NOT NULL, day TEXT NOT NULL, "
                           "calls INTEGER NOT NULL, usd REAL NOT NULL, PRIMARY KEY (device, day))")

    @staticmethod
    def today() -> str:
        return time.strftime("%Y-%m-%d", time.gmtime())

    def spent(self, device: str, day: str | None = None) -> tuple[int, float]:
        with self._lock:
            row = self._conn.execute("SELECT calls, usd FROM cloud_spend WHERE device=? AND day=?",
                                     (device, day or self.today())).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def charge(self, device: str, usd: float, calls: int = 1, day: str | None = None) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO cloud_spend VALUES (?,?,?,?) ON CONFLICT(device, day) DO UPDATE SET "
                "calls = calls + excluded.calls, usd = usd + excluded.usd", (device, day or self.today(), calls, usd))
            self._conn.commit()

    def close(self) -> None:
        self._conn.close()


class BudgetRouter:
    """Wrap a score policy; its threshold becomes ``effective_threshold(state)``."""

    name = "budget"

    def __init__(self, inner: ThresholdRouter, budget: DailyBudget, ledger: Ledger | None = None,
                 device_id: str = "this-device", state: DeviceState | None = None,
                 metered_penalty: float = 0.15, battery_relief: float = 0.2, energy_ref_j: float = 0.05):
        self.inner = inner
        self.budget = budget
        self.ledger = ledger or Ledger()
        self.device_id = device_id
        self.state = state or DeviceState()
        self.metered_penalty = metered_penalty
        self.battery_relief = battery_relief
        self.energy_ref_j = energy_ref_j

    @property
    def needs_draft(self) -> bool:
        return self.inner.needs_draft

    def spent_fraction(self) -> float:
        """The larger of the money and call shares of today's budget already used (0 with no budget)."""
        calls, usd = self.ledger.spent(self.device_id)
        parts = [0.0]
        if self.budget.calls is not None:
            parts.append(calls / self.budget.calls if self.budget.calls > 0 else 1.0)
        if self.budget.usd is not None:
            parts.append(usd / self.budget.usd if self.budget.usd > 0 else 1.0)
        return max(parts)

    def effective_threshold(self, state: DeviceState | None = None) -> float:
        s = state or self.state
        t = self.inner.threshold
        t += (1.0 - t) * self.spent_fraction() ** 2  # the last part of the budget is kept for clear cases
        if s.metered:
            t += self.metered_penalty
        if not s.charging and s.battery < 0.5:
            energy = min(3.0, s.energy_j_per_token / max(self.energy_ref_j, 1e-9))
            t -= self.battery_relief * (0.5 - s.battery) * 2 * energy
        return max(0.0, min(1.0, t))

    def _state(self, ctx: RouteContext) -> DeviceState:
        if not ctx.device:
            return self.state
        known = {k: v for k, v in ctx.device.items() if k in DeviceState.__dataclass_fields__}
        return DeviceState(**{**self.state.__dict__, **known})

    def decide(self, ctx: RouteContext) -> Decision:
        state = self._state(ctx)
        score, why = self.inner.score(ctx)
        frac = self.spent_fraction()
        details = {"spent_fraction": round(frac, 4), "battery": state.battery, "charging": state.charging,
                   "metered": state.metered, "inner": self.inner.name}
        if frac >= 1.0:
            return Decision("edge", "daily cloud budget spent: answer locally", score, self.name, details)
        t = self.effective_threshold(state)
        details["threshold"] = round(t, 4)
        target: Target = "cloud" if score >= t else "edge"
        return Decision(target, f"{why}; budget-adjusted threshold {t:.2f} ({frac:.0%} of today's budget used)",
                        score, self.name, details)

    def record_cloud_call(self, usd: float) -> None:
        """Charge one cloud call to today's budget (the engine calls this after a successful escalation)."""
        self.ledger.charge(self.device_id, usd)
