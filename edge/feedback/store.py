"""The local feedback store: explicit feedback and implicit signals linked to trace ids, in SQLite.

Privacy rules, enforced here rather than left to apps:
- consent is per user and opt-in; without it only per-day counters are kept (no trace id, no text);
- user ids are stored as salted hashes; the salt never leaves the device;
- rows older than the retention window are purged (on open and on ``purge``);
- ``export`` returns aggregates only (counts, rates, histograms), with small buckets suppressed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from frugalstack.edge.feedback.models import SIGNALS, ExplicitFeedback, ImplicitSignal
from frugalstack.edge.sqlite import connect
from frugalstack.shared.errors import ConfigError, ValidationError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consent (user_hash TEXT PRIMARY KEY, granted INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS explicit (
    id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, user_hash TEXT, created_at REAL NOT NULL,
    thumbs TEXT CHECK (thumbs IN ('up', 'down')), rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    correction TEXT, chosen_product TEXT);
CREATE INDEX IF NOT EXISTS explicit_trace ON explicit (trace_id);
CREATE INDEX IF NOT EXISTS explicit_time ON explicit (created_at);
CREATE TABLE IF NOT EXISTS implicit (
    id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, user_hash TEXT, created_at REAL NOT NULL,
    signal TEXT NOT NULL, product_id TEXT);
CREATE INDEX IF NOT EXISTS implicit_trace ON implicit (trace_id);
CREATE INDEX IF NOT EXISTS implicit_time ON implicit (created_at);
CREATE TABLE IF NOT EXISTS counters (day TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, name));
"""
_WORD = re.compile(r"[a-z0-9]+")


class FeedbackStore:
    """One SQLite file per device. Thread-safe; cheap to keep open for the app's lifetime."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention_days: float = 90.0,
        reask_window_s: float = 120.0,
        min_bucket: int = 5,
        default_consent: bool = False,
    ):
        if retention_days <= 0:
            raise ConfigError("retention_days must be positive")
        self.path = Path(path)
        self.retention_days = retention_days
        self.reask_window_s = reask_window_s
        self.min_bucket = min_bucket
        self.default_consent = default_consent
        self._lock = threading.Lock()
        self._db = connect(self.path)
        self._migrate()
        self._salt = self._meta("salt") or self._init_salt()
        self._last_question: dict[str, tuple[str, float, frozenset[str]]] = {}  # in memory only, never stored
        self.purge()

    # ------------------------------------------------------------------ schema
    def _migrate(self) -> None:
        with self._lock:
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path} has feedback schema v{version}; this frugalstack reads v{SCHEMA_VERSION}",
                    hint="upgrade frugalstack",
                )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _init_salt(self) -> str:
        salt = secrets.token_hex(16)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (salt,))
        return self._meta("salt") or salt

    def _hash(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:32]

    # ------------------------------------------------------------------ consent
    def set_consent(self, user_id: str, granted: bool) -> None:
        """Grant or revoke; revoking also deletes what was stored for that user."""
        h = self._hash(user_id)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO consent VALUES (?, ?, ?)", (h, int(granted), time.time()))
        if not granted:
            self.purge(user_id=user_id)

    def has_consent(self, user_id: str | None) -> bool:
        if user_id is None:
            return self.default_consent
        row = self._db.execute("SELECT granted FROM consent WHERE user_hash=?", (self._hash(user_id),)).fetchone()
        return bool(row[0]) if row else self.default_consent

    # ------------------------------------------------------------------ recording
    def record(
        self,
        trace_id: str,
        *,
        user_id: str | None = None,
        thumbs: str | None = None,
        rating: int | None = None,
        correction: str | None = None,
        chosen_product: str | None = None,
    ) -> int | None:
        """Store explicit feedback; returns the row id, or None when only counters were kept (no consent)."""
        try:
            fb = ExplicitFeedback(
                trace_id=trace_id,
                thumbs=thumbs,
                rating=rating,
                correction=correction,
                chosen_product=chosen_product,
            )
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid feedback: {exc.errors()[0]['msg']}") from exc
        names = ["explicit"]
        if fb.thumbs:
            names.append(f"thumbs_{fb.thumbs}")
        if fb.rating:
            names.append(f"rating_{fb.rating}")
        if fb.correction:
            names.append("correction")
        if fb.chosen_product:
            names.append("chosen_product")
        self._count(names)
        if not self.has_consent(user_id):
            return None
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO explicit (trace_id, user_hash, created_at, thumbs, rating, correction, chosen_product)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fb.trace_id, self._hash(user_id), time.time(), fb.thumbs, fb.rating, fb.correction, fb.chosen_product),
            )
            return int(cur.lastrowid)

    def signal(
        self, trace_id: str, signal: str, *, user_id: str | None = None, product_id: str | None = None
    ) -> int | None:
        """Store an implicit signal (re-asked, escalated, clicked, added_to_cart, abandoned)."""
        try:
            ev = ImplicitSignal(trace_id=trace_id, signal=signal, product_id=product_id)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid signal: {exc.errors()[0]['msg']}", hint=f"one of {SIGNALS}") from exc
        self._count(["implicit", f"signal_{ev.signal}"])
        if not self.has_consent(user_id):
            return None
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO implicit (trace_id, user_hash, created_at, signal, product_id) VALUES (?, ?, ?, ?, ?)",
                (ev.trace_id, self._hash(user_id), time.time(), ev.signal, ev.product_id),
            )
            return int(cur.lastrowid)

    def observe_question(self, user_id: str, trace_id: str, text: str, *, now: float | None = None) -> bool:
        """Note a question; if it repeats the user's previous one within the window, signal ``reasked`` on the
        previous trace (the first answer did not help). Only word sets are kept, in memory."""
        now = time.time() if now is None else now
        words = frozenset(_WORD.findall(text.casefold()))
        previous = self._last_question.get(user_id)
        self._last_question[user_id] = (trace_id, now, words)
        if previous is None or not words or now - previous[1] > self.reask_window_s:
            return False
        overlap = len(words & previous[2]) / max(1, len(words | previous[2]))
        if overlap >= 0.6:
            self.signal(previous[0], "reasked", user_id=user_id)
            return True
        return False

    def _count(self, names: list[str]) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self._lock:
            self._db.executemany(
                "INSERT INTO counters VALUES (?, ?, 1) ON CONFLICT(day, name) DO UPDATE SET n = n + 1",
                [(day, n) for n in names],
            )

    # ------------------------------------------------------------------ reading, purging, exporting
    def list(self, *, limit: int = 50, trace_id: str | None = None) -> list[dict[str, Any]]:
        """Newest stored events first (explicit and implicit), for the device owner to inspect."""
        where, args = ("WHERE trace_id=?", [trace_id]) if trace_id else ("", [])
        rows = self._db.execute(
            f"SELECT 'explicit', id, trace_id, created_at, thumbs, rating, correction, chosen_product, NULL, NULL"
            f" FROM explicit {where} UNION ALL "
            f"SELECT 'implicit', id, trace_id, created_at, NULL, NULL, NULL, NULL, signal, product_id"
            f" FROM implicit {where} ORDER BY 4 DESC LIMIT ?",
            [*args, *args, max(1, limit)],
        ).fetchall()
        keys = (
            "kind",
            "id",
            "trace_id",
            "created_at",
            "thumbs",
            "rating",
            "correction",
            "chosen_product",
            "signal",
            "product_id",
        )
        return [{k: v for k, v in zip(keys, r, strict=True) if v is not None} for r in rows]

    def purge(self, *, older_than_days: float | None = None, user_id: str | None = None) -> int:
        """Delete rows past retention (or older than ``older_than_days``), or every row of one user."""
        with self._lock:
            if user_id is not None:
                h = self._hash(user_id)
                n = sum(
                    self._db.execute(f"DELETE FROM {t} WHERE user_hash=?", (h,)).rowcount
                    for t in ("explicit", "implicit")
                )
                return int(n)
            cutoff = time.time() - 86400 * (self.retention_days if older_than_days is None else older_than_days)
            n = sum(
                self._db.execute(f"DELETE FROM {t} WHERE created_at < ?", (cutoff,)).rowcount
                for t in ("explicit", "implicit")
            )
            day = time.strftime("%Y-%m-%d", time.gmtime(cutoff))
            n += self._db.execute("DELETE FROM counters WHERE day < ?", (day,)).rowcount
            return int(n)

    def export(self) -> dict[str, Any]:
        """Aggregates for the cloud: counts, rates, a rating histogram; no ids, no text, no per-user data.

        Counts under ``min_bucket`` are reported as ``None`` (suppressed) so rare events cannot single anyone out.
        """
        totals: dict[str, int] = {}
        days: dict[str, int] = {}
        for day, name, n in self._db.execute("SELECT day, name, n FROM counters ORDER BY day"):
            totals[name] = totals.get(name, 0) + int(n)
            if name in ("explicit", "implicit"):
                days[day] = days.get(day, 0) + int(n)
        up, down = totals.get("thumbs_up", 0), totals.get("thumbs_down", 0)
        hist = {str(r): totals.get(f"rating_{r}", 0) for r in range(1, 6)}
        rated = sum(hist.values())
        explicit = totals.get("explicit", 0)
        return {
            "schema": "frugalstack.feedback.aggregate/1",
            "generated_at": round(time.time(), 3),
            "retention_days": self.retention_days,
            "min_bucket": self.min_bucket,
            "explicit_total": self._k(explicit),
            "thumbs": {
                "up": self._k(up),
                "down": self._k(down),
                "up_rate": round(up / (up + down), 4) if up + down >= self.min_bucket else None,
            },
            "rating_histogram": {r: self._k(n) for r, n in hist.items()},
            "rating_mean": round(sum(int(r) * n for r, n in hist.items()) / rated, 3)
            if rated >= self.min_bucket
            else None,
            "corrections": self._k(totals.get("correction", 0)),
            "chosen_product": self._k(totals.get("chosen_product", 0)),
            "implicit": {s: self._k(totals.get(f"signal_{s}", 0)) for s in SIGNALS},
            "implicit_per_explicit": {
                s: round(totals.get(f"signal_{s}", 0) / explicit, 4) if explicit >= self.min_bucket else None
                for s in SIGNALS
            },
            "events_per_day": {d: self._k(n) for d, n in days.items()},
            "consented_users": self._k(
                int(self._db.execute("SELECT COUNT(*) FROM consent WHERE granted=1").fetchone()[0])
            ),
        }

    def _k(self, n: int) -> int | None:
        return n if n == 0 or n >= self.min_bucket else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
