"""The router and RAG ranking read features through get_online_features; stale ones change nothing."""

from __future__ import annotations

from pathlib import Path

from frugalstack.edge.features import OnlineStore
from frugalstack.edge.features.definitions import CATEGORY_QUALITY, PRODUCT_STATS
from frugalstack.edge.features.snapshot import Snapshot, SnapshotView
from frugalstack.edge.knowledge.features import rerank
from frugalstack.edge.knowledge.store import Hit
from frugalstack.edge.router.features import feature_signals

NOW = 1_800_000_000.0


def _store(path: Path) -> OnlineStore:
    def row(pid: str, pop: float, stock: bool) -> list[object]:
        return [pid, NOW - 60, "Toys", 10, 1, pop, 0.0, 9.0, 0.0, stock]

    store = OnlineStore(path)
    store.load_snapshot(Snapshot(snapshot_id="s", created_at=NOW, views=[
        SnapshotView(view=PRODUCT_STATS, rows=[row("a", 0.0, False), row("b", 0.001, True), row("c", 0.02, True)]),
        SnapshotView(view=CATEGORY_QUALITY, rows=[["Toys", NOW - 60, 0.9, 0.05, 100]])]))
    return store


def _hit(i: str, kind: str = "product") -> Hit:
    return Hit(id=i, kind=kind, doc_id="", title=i, text="", score=0.0)


def test_rerank_fuses_retrieval_and_feature_prior(tmp_path: Path) -> None:
    with _store(tmp_path / "f.db") as store:
        hits = [_hit("a"), _hit("doc", "doc"), _hit("b"), _hit("c")]
        assert [h.id for h in rerank(hits, store, weight=0)] == ["a", "doc", "b", "c"]
        # RRF (k=60) nudges: at weight 1 only c passes b; at weight 3 the prior dominates (docs keep their rank)
        assert [h.id for h in rerank(hits, store, weight=1, now=NOW)] == ["a", "doc", "c", "b"]
        assert [h.id for h in rerank(hits, store, weight=3, now=NOW)] == ["c", "doc", "b", "a"]
        # four days later product_stats is stale (TTL 3 days): no prior, retrieval order stands
        assert [h.id for h in rerank(hits, store, weight=3, now=NOW + 4 * 86_400)] == ["a", "doc", "b", "c"]


def test_router_signals_fall_back_to_neutral_when_unknown(tmp_path: Path) -> None:
    with _store(tmp_path / "f.db") as store:
        store.history.set_state(network="offline", on_battery=True)
        known = feature_signals(store, "Toys", now=NOW)
        assert known["f_answer_quality"] == 0.9 and known["f_features_known"] == 1.0
        assert known["f_offline"] == 1.0 and known["f_on_battery"] == 1.0
        unknown = feature_signals(store, "Garden", now=NOW)
        assert unknown["f_answer_quality"] == 0.5 and unknown["f_features_known"] == 0.0
        stale = feature_signals(store, "Toys", now=NOW + 8 * 86_400)
        assert stale["f_escalation_rate"] == 0.5 and stale["f_features_known"] == 0.0
