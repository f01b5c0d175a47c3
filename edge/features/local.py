"""Online features computed on the device from its own recent history; they never leave the device.

Only what the features need is kept: the time, the event kind, the category, the intent and a salted
hash of the normalised query (to spot re-asks), never the query text. Nothing in this module talks to the
network, and the telemetry uploader (``edge/ota/sync.py``) reads trace records, not this table.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from frugalstack.edge.features.definitions import DEVICE_HISTORY

SCHEMA = """
CREATE TABLE IF NOT EXISTS local_events (
    ts REAL NOT NULL, kind TEXT NOT NULL, category TEXT, intent TEXT, query_hash TEXT);
CREATE INDEX IF NOT EXISTS ix_local_events_ts ON local_events(ts);
CREATE TABLE IF NOT EXISTS local_state (key TEXT PRIMARY KEY, value TEXT, ts REAL) WITHOUT ROWID;
"""
WINDOW_S = 30 * 60
REASK_S = 5 * 60
KEEP_S = 7 * 86_400
_WS = re.compile(r"\W+", re.UNICODE)


def _query_hash(query: str, salt: str) -> str:
    norm = " ".join(sorted(set(_WS.sub(" ", query.lower()).split())))
    return hashlib.sha256((salt + norm).encode()).hexdigest()[:16]


def read_power(root: Path = Path("/sys/class/power_supply")) -> tuple[float | None, bool | None]:
    """(battery %, on battery) from Linux sysfs; (None, None) where there is no battery (a desktop, CI)."""
    try:
        bats = sorted(p for p in root.iterdir() if p.name.startswith("BAT"))
        if not bats:
            return None, None
        pct = float((bats[0] / "capacity").read_text().strip())
        status = (bats[0] / "status").read_text().strip().lower()
        return pct, status == "discharging"
    except (OSError, ValueError):
        return None, None


class LocalHistory:
    """Events and device state in the online store's SQLite connection (same file, same WAL)."""

    def __init__(self, conn: Any, salt: str = "") -> None:
        self.conn = conn
        conn.executescript(SCHEMA)
        row = conn.execute("SELECT value FROM local_state WHERE key = 'salt'").fetchone()
        if row is None:
            import secrets

            conn.execute("INSERT INTO local_state VALUES ('salt', ?, ?)", (salt or secrets.token_hex(8), time.time()))
            row = conn.execute("SELECT value FROM local_state WHERE key = 'salt'").fetchone()
        self._salt = str(row[0])

    def record_query(
        self, query: str, *, intent: str | None = None, category: str | None = None, ts: float | None = None
    ) -> None:
        """One user question: kept as (time, intent, category, salted hash); the text is dropped here."""
        now = time.time() if ts is None else ts
        self.conn.execute(
            "INSERT INTO local_events VALUES (?, 'query', ?, ?, ?)",
            (now, category, intent, _query_hash(query, self._salt)),
        )
        self.conn.execute("DELETE FROM local_events WHERE ts < ?", (now - KEEP_S,))

    def record_view(self, category: str, *, ts: float | None = None) -> None:
        """The user looked at a product or page in ``category``."""
        self.conn.execute(
            "INSERT INTO local_events VALUES (?, 'view', ?, NULL, NULL)", (time.time() if ts is None else ts, category)
        )

    def set_state(self, **values: Any) -> None:
        """Battery/network state pushed by the host app (``battery_pct``, ``on_battery``, ``network``)."""
        now = time.time()
        for k, v in values.items():
            self.conn.execute(
                "INSERT OR REPLACE INTO local_state VALUES (?, ?, ?)", (k, None if v is None else str(v), now)
            )

    def _state(self) -> dict[str, str | None]:
        return {str(k): v for k, v in self.conn.execute("SELECT key, value FROM local_state WHERE key != 'salt'")}

    def compute(self, now: float | None = None) -> dict[str, Any]:
        """The ``device_history`` view's values as of ``now`` (always fresh: computed on read)."""
        now = time.time() if now is None else now
        rows = self.conn.execute(
            "SELECT ts, kind, category, intent, query_hash FROM local_events WHERE ts >= ? AND ts <= ? ORDER BY ts",
            (now - WINDOW_S, now),
        ).fetchall()
        queries = [r for r in rows if r[1] == "query"]
        recent = list(dict.fromkeys(r[2] for r in reversed(rows) if r[2]))[:3]
        intents = Counter(r[3] for r in queries if r[3])
        reasks, last_seen = 0, dict[str, float]()
        for ts, _, _, _, h in queries:
            if h in last_seen and ts - last_seen[h] <= REASK_S:
                reasks += 1
            last_seen[h] = ts
        state = self._state()
        pct, on_bat = read_power()
        battery = state.get("battery_pct")
        on_battery = state.get("on_battery")
        values: dict[str, Any] = {
            "recent_categories": recent,
            "session_intent": intents.most_common(1)[0][0] if intents else None,
            "reask_rate": reasks / len(queries) if queries else 0.0,
            "queries_30m": len(queries),
            "battery_pct": float(battery) if battery not in (None, "None") else pct,
            "on_battery": (on_battery == "True") if on_battery not in (None, "None") else on_bat,
            "network": state.get("network") or "unknown",
        }
        assert list(values) == DEVICE_HISTORY.feature_names
        return values
