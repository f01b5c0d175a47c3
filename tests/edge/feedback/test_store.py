"""The feedback store on a real SQLite file: consent, signals, retention, aggregate-only export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from frugalstack.edge.feedback.store import FeedbackStore
from frugalstack.shared.errors import ConfigError, ValidationError


def test_without_consent_only_counters_are_kept(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db", min_bucket=1) as s:
        assert s.record("t1", user_id="bob", thumbs="down", correction="wrong size") is None
        assert s.signal("t1", "escalated", user_id="bob") is None
        assert s.list() == []
        agg = s.export()
        assert agg["thumbs"]["down"] == 1 and agg["implicit"]["escalated"] == 1 and agg["corrections"] == 1
        assert "wrong size" not in json.dumps(agg)


def test_consent_stores_rows_and_revoking_deletes_them(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db") as s:
        s.set_consent("alice", True)
        assert s.has_consent("alice") and not s.has_consent("bob")
        rid = s.record("trace-a", user_id="alice", rating=4, chosen_product="p-1")
        s.signal("trace-a", "added_to_cart", user_id="alice", product_id="p-1")
        rows = s.list()
        assert {r["kind"] for r in rows} == {"explicit", "implicit"} and rid is not None
        assert all("alice" not in json.dumps(r) for r in rows)  # user ids are hashed, never listed
        raw = s._db.execute("SELECT user_hash FROM explicit").fetchone()[0]
        assert raw and "alice" not in raw
        s.set_consent("alice", False)
        assert s.list() == []


def test_validation_errors(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db", default_consent=True) as s:
        with pytest.raises(ValidationError, match="feedback needs"):
            s.record("t")
        with pytest.raises(ValidationError):
            s.record("t", rating=6)
        with pytest.raises(ValidationError):
            s.record("t", thumbs="sideways")
        with pytest.raises(ValidationError, match="invalid signal"):
            s.signal("t", "liked")
        with pytest.raises(ValidationError):
            s.record("", thumbs="up")


def test_reask_within_the_window_signals_the_previous_trace(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db", default_consent=True, reask_window_s=60) as s:
        now = 1_000_000.0
        assert not s.observe_question("u", "t1", "Is the blue jacket waterproof?", now=now)
        assert s.observe_question("u", "t2", "is the blue jacket waterproof??", now=now + 10)
        assert s.list(trace_id="t1")[0]["signal"] == "reasked"
        assert not s.observe_question("u", "t3", "Do you ship to Norway?", now=now + 20)
        assert not s.observe_question("u", "t4", "Do you ship to Norway?", now=now + 500)  # outside the window


def test_retention_purge_and_user_purge(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db", default_consent=True, retention_days=30) as s:
        s.record("old", user_id="a", thumbs="up")
        s.record("new", user_id="b", thumbs="up")
        s._db.execute("UPDATE explicit SET created_at=? WHERE trace_id='old'", (time.time() - 40 * 86400,))
        assert s.purge() == 1
        assert [r["trace_id"] for r in s.list()] == ["new"]
        assert s.purge(user_id="b") == 1 and s.list() == []
        s.record("x", thumbs="up")
        assert s.purge(older_than_days=0) >= 1
    with pytest.raises(ConfigError):
        FeedbackStore(tmp_path / "g.db", retention_days=0)


def test_export_is_aggregate_only_and_suppresses_small_buckets(tmp_path: Path) -> None:
    with FeedbackStore(tmp_path / "f.db", default_consent=True, min_bucket=3) as s:
        for i in range(6):
            s.record(f"t{i}", user_id=f"u{i}", thumbs="up", rating=5)
        s.record("t9", user_id="u9", thumbs="down", rating=1, correction="secret text")
        agg = s.export()
        assert agg["thumbs"]["up"] == 6 and agg["thumbs"]["down"] is None  # 1 < min_bucket: suppressed
        assert agg["thumbs"]["up_rate"] == pytest.approx(6 / 7, abs=1e-3)
        assert agg["rating_histogram"]["5"] == 6 and agg["rating_histogram"]["1"] is None
        text = json.dumps(agg)
        assert "secret" not in text and "t9" not in text and "u9" not in text


def test_schema_version_and_corrupt_files(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    with FeedbackStore(path) as s:
        s._db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(ConfigError, match="schema v99"):
        FeedbackStore(path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError):
        FeedbackStore(junk)
    again = tmp_path / "salt.db"
    with FeedbackStore(again) as s1:
        salt = s1._salt
    with FeedbackStore(again) as s2:
        assert s2._salt == salt  # hashes stay stable across restarts
