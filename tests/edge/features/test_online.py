"""The device's online store: snapshot load, lookup, TTL (stale reported, never used), local history."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.features import OnlineStore, get_online_features
from frugalstack.edge.features.definitions import CATEGORY_QUALITY, PRODUCT_STATS, STANDARD, load_repo, parse_ref
from frugalstack.edge.features.local import read_power
from frugalstack.edge.features.snapshot import Snapshot, SnapshotView, decode, encode
from frugalstack.shared.errors import ValidationError

NOW = 1_800_000_000.0


def _snapshot(event_ts: float = NOW - 3600) -> Snapshot:
    rows = [["p-1", event_ts, "Toys > Puzzles", 40, 3, 0.1234567, 0.05, 19.99, -0.1, True],
            ["p-2", event_ts - 4 * 86_400, "Toys > Puzzles", 1, 0, 0.0, 0.0, 5.0, 0.0, False]]
    return Snapshot(snapshot_id="s1", created_at=NOW, slice={"profile": "phone"},
                    views=[SnapshotView(view=PRODUCT_STATS, rows=rows),
                           SnapshotView(view=CATEGORY_QUALITY, rows=[["Toys", event_ts, 0.8, 0.1, 120]])])


def test_snapshot_round_trip_is_deterministic_and_compact() -> None:
    a, b = encode(_snapshot()), encode(_snapshot())
    assert a == b  # same content, same sha256
    back = decode(a)
    assert back.views[0].rows[0][5] == 0.1235  # floats rounded to 4 decimals
    with pytest.raises(ValidationError):
        decode(b"not gzip")
    bad = _snapshot()
    bad.views[0].rows[0] = ["p-1", NOW]
    with pytest.raises(ValidationError):
        decode(encode(bad))


def test_lookup_reports_stale_and_missing_instead_of_using_them(tmp_path: Path) -> None:
    with OnlineStore(tmp_path / "f.db") as store:
        store.load_snapshot(encode(_snapshot()))
        assert store.snapshot_id() == "s1"
        refs = ["product_stats:popularity", "product_stats:in_stock", "category_quality:escalation_rate"]
        got = store.get_online_features({"product": "p-1", "category": "Toys"}, refs, now=NOW)
        assert got.values == {"product_stats:popularity": 0.1235, "product_stats:in_stock": True,
                              "category_quality:escalation_rate": 0.1}
        assert got.stale == [] and got.missing == [] and got.age_s["product_stats:popularity"] == 3600
        old = store.get_online_features({"product": "p-2", "category": "Toys"}, refs, now=NOW)
        assert old.stale == ["product_stats:popularity", "product_stats:in_stock"]  # 4 days > TTL 3 days
        assert old.values["product_stats:popularity"] is None and old.get("product_stats:in_stock", "x") == "x"
        later = store.get_online_features({"product": "p-1", "category": "Toys"}, refs, now=NOW + 8 * 86_400)
        assert set(later.stale) == set(refs)  # everything aged past its TTL: reported, not served
        gone = store.get_online_features({"product": "p-9"}, ["product_stats:price"], now=NOW)
        assert gone.missing == ["product_stats:price"] and gone.values == {"product_stats:price": None}
        with pytest.raises(ValidationError):
            store.get_online_features({"product": "p-1"}, ["nope:price"])
        with pytest.raises(ValidationError):
            store.get_online_features({"product": "p-1"}, ["product_stats:nope"])
    # the module-level call opens the store by path once and reuses it
    again = get_online_features({"product": "p-1"}, ["product_stats:price"], store=tmp_path / "f.db", now=NOW)
    assert again.values["product_stats:price"] == 19.99


def test_a_new_snapshot_replaces_a_view_atomically(tmp_path: Path) -> None:
    with OnlineStore(tmp_path / "f.db") as store:
        store.load_snapshot(_snapshot())
        newer = _snapshot()
        newer.snapshot_id = "s2"
        newer.views = [SnapshotView(view=PRODUCT_STATS, rows=[newer.views[0].rows[1]])]
        store.load_snapshot(newer)
        assert store.snapshot_id() == "s2"
        assert store.get_online_features({"product": "p-1"}, ["product_stats:price"], now=NOW).missing
        assert store.get_online_features({"category": "Toys"}, ["category_quality:answer_quality"],
                                         now=NOW).values == {"category_quality:answer_quality": 0.8}


def test_local_history_features_keep_no_raw_text(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    with OnlineStore(db) as store:
        h = store.history
        h.record_view("Apparel > Outerwear", ts=NOW - 600)
        h.record_query("Is the Zebrafoo parka waterproof?", intent="product_question", ts=NOW - 500)
        h.record_query("zebrafoo PARKA is the waterproof", intent="product_question", ts=NOW - 400)  # a re-ask
        h.record_query("where is my order", intent="order", category="Orders", ts=NOW - 300)
        h.record_query("old one", intent="order", ts=NOW - 7200)  # outside the 30 min window
        h.set_state(battery_pct=42, on_battery=True, network="cellular")
        refs = [f"device_history:{f}" for f in ("recent_categories", "session_intent", "reask_rate", "queries_30m",
                                                "battery_pct", "on_battery", "network")]
        got = store.get_online_features({}, refs, now=NOW).values
    assert got == {"device_history:recent_categories": ["Orders", "Apparel > Outerwear"],
                   "device_history:session_intent": "product_question",
                   "device_history:reask_rate": pytest.approx(1 / 3),
                   "device_history:queries_30m": 3, "device_history:battery_pct": 42.0,
                   "device_history:on_battery": True, "device_history:network": "cellular"}
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"zebrafoo" not in raw.lower() and b"waterproof" not in raw  # only salted hashes are stored


def test_definitions_parse_and_check(tmp_path: Path) -> None:
    assert parse_ref(" product_stats:price ") == ("product_stats", "price")
    with pytest.raises(ValidationError):
        parse_ref("product_stats.price")
    assert load_repo() is STANDARD and len(STANDARD.views) == 4
    with pytest.raises(ValidationError):
        load_repo({"views": [{**CATEGORY_QUALITY.model_dump(), "entity": "warehouse"}]})
    with pytest.raises(ValueError):
        load_repo({"views": [{**CATEGORY_QUALITY.model_dump(), "features": [{"name": "a"}, {"name": "a"}]}]})
    (tmp_path / "BAT0").mkdir()
    (tmp_path / "BAT0" / "capacity").write_text("77\n")
    (tmp_path / "BAT0" / "status").write_text("Discharging\n")
    assert read_power(tmp_path) == (77.0, True)
    assert read_power(tmp_path / "none") == (None, None)
