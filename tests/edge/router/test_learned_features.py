"""The learned head with feature-store inputs: trains, saves, ships and federates with consistent shapes, and
heads without them keep their old files and version digest."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from frugalstack.edge.features import OnlineStore
from frugalstack.edge.features.definitions import CATEGORY_QUALITY, PRODUCT_STATS
from frugalstack.edge.features.snapshot import Snapshot, SnapshotView
from frugalstack.edge.router import evaluate as ev
from frugalstack.edge.router.collect import Pair
from frugalstack.edge.router.features import HEAD_FEATURES, feature_signals, vector
from frugalstack.edge.router.learned import LearnedRouter
from frugalstack.edge.router.signals import FEATURES
from frugalstack.edge.router.types import Draft, RouteContext

SHIPPED = Path(__file__).parents[3] / "edge" / "router" / "data" / "pairs-sample.jsonl.gz"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    with gzip.open(SHIPPED, "rt") as f:
        return [Pair(**json.loads(x)) for x in f if x.strip()]


@pytest.fixture()
def store(tmp_path: Path) -> OnlineStore:
    """A device store with product_stats for the shipped pairs' retrieved products and two categories."""
    with gzip.open(SHIPPED, "rt") as f:
        ids = sorted({i for x in f if x.strip() for i in json.loads(x)["retrieved_edge"] if i.startswith("p-")})
    rng = np.random.default_rng(0)
    rows = [[pid, NOW - 60, "Apparel > Outerwear" if k % 2 else "Electronics > Laptops", 10, 1,
             float(rng.random() / 100), float(rng.random() / 5), 50.0, float(rng.normal(0, 0.05)), bool(k % 3)]
            for k, pid in enumerate(ids)]
    s = OnlineStore(tmp_path / "f.db")
    s.load_snapshot(Snapshot(snapshot_id="s", created_at=NOW, views=[
        SnapshotView(view=PRODUCT_STATS, rows=rows),
        SnapshotView(view=CATEGORY_QUALITY, rows=[["Apparel", NOW - 60, 0.3, 0.4, 20],
                                                  ["Electronics > Laptops", NOW - 60, 0.6, 0.1, 20]])]))
    return s


def _rows(store: OnlineStore, pairs: list[Pair]) -> np.ndarray:
    return np.array([vector(feature_signals(store, now=NOW, product_ids=p.retrieved_edge)) for p in pairs])


def test_feature_signals_for_retrieved_products(store: OnlineStore) -> None:
    ids = [pid for pid, in store.conn.execute("SELECT entity_key FROM feature_values WHERE view='product_stats'")]
    got = feature_signals(store, now=NOW, product_ids=ids[:2])
    assert got["f_features_known"] == 1.0 and got["f_same_category"] == 0.0  # alternating categories
    # "Apparel > Outerwear" has no row of its own: its top level's is used
    assert got["f_answer_quality"] in (0.3, 0.6) and 0 <= got["f_popularity"] <= 0.01
    same = feature_signals(store, now=NOW, product_ids=[ids[0], ids[2]])
    assert same["f_same_category"] == 1.0
    unknown = feature_signals(store, now=NOW, product_ids=["p-99999"])
    assert unknown["f_features_known"] == 0.0 and unknown["f_answer_quality"] == 0.5
    stale = feature_signals(store, now=NOW + 4 * 86_400, product_ids=ids[:1])  # product_stats TTL is 3 days
    assert stale["f_features_known"] == 0.0 and stale["f_in_stock"] == 1.0
    assert vector(got).shape == (len(HEAD_FEATURES),) and vector(None) is None
    store.close()


def test_head_with_features_trains_saves_ships_and_decides(store: OnlineStore, pairs: list[Pair],
                                                          tmp_path: Path) -> None:
    dev = [p for p in pairs if p.split == "dev"]
    y = np.array([p.cloud_score > p.edge_score for p in dev], np.float32)
    emb, sig, feats = np.array([p.embedding for p in dev]), np.array([p.signals for p in dev]), _rows(store, dev)
    store.close()
    head = LearnedRouter(feature_names=HEAD_FEATURES)
    head.fit(emb, sig, y, feature_rows=feats)
    assert head.dim == 384 + len(FEATURES) + len(HEAD_FEATURES) == head.get_params()["w"].shape[0]
    p = head.predict_proba(head.features(emb, sig, feats))
    assert 0 < p.min() < p.max() < 1
    for back in (LearnedRouter.load(head.save(tmp_path / "h")), LearnedRouter.from_bytes(head.to_bytes())):
        assert back.feature_names == HEAD_FEATURES and back.version == head.version
        np.testing.assert_allclose(back.predict_proba(back.features(emb, sig, feats)), p, rtol=1e-5)
    card = json.loads((tmp_path / "h.json").read_text())
    assert card["feature_names"] == list(HEAD_FEATURES) and card["features_version"] == "route-features-v1"
    # decide(): features from the context; without any (no store on the device) every input is neutral
    ctx = RouteContext(query="q", embedding=emb[0], draft=Draft(text="It costs $5.", logprobs=[-0.1, -2.0]))
    given = dict(zip(HEAD_FEATURES, feats[0].tolist(), strict=True))
    with_f = head.score(RouteContext(**{**ctx.__dict__, "features": given}))
    neutral = head.predict_proba(head.features(emb[:1], np.array([head.mean]) * 0 + _sig(ctx), head.fmean[None]))
    assert head.score(ctx)[0] == pytest.approx(float(neutral[0]), abs=1e-6)
    assert with_f[0] != pytest.approx(head.score(ctx)[0], abs=1e-9)
    # a parameter update of the wrong size (a head without feature inputs) is refused
    with pytest.raises(Exception, match="does not fit"):
        head.set_params(LearnedRouter().get_params())


def _sig(ctx: RouteContext) -> np.ndarray:
    from frugalstack.edge.router.signals import compute

    return compute(ctx.query, ctx.draft).vector()


def test_head_without_features_keeps_its_format_and_digest(pairs: list[Pair], tmp_path: Path) -> None:
    dev = [p for p in pairs if p.split == "dev"]
    y = np.array([p.cloud_score > p.edge_score for p in dev], np.float32)
    head = LearnedRouter()
    head.fit(np.array([p.embedding for p in dev]), np.array([p.signals for p in dev]), y)
    h = hashlib.sha256()  # the digest as it was before feature inputs existed
    for k in sorted(head.params):
        h.update(k.encode() + head.params[k].tobytes())
    h.update(head.mean.tobytes() + head.std.tobytes())
    assert head.version == "lr-" + h.hexdigest()[:12]
    path = head.save(tmp_path / "old")
    assert "feature_names" not in json.loads(path.with_suffix(".json").read_text())
    with np.load(path) as data:
        assert sorted(data.files) == ["mean", "param_b", "param_w", "std"]
    assert LearnedRouter.load(path).version == head.version
    assert LearnedRouter.from_bytes(head.to_bytes()).feature_names == ()


def test_federated_softmax_head_with_features() -> None:
    d = 384 + len(FEATURES) + len(HEAD_FEATURES)
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(d, 2)).astype(np.float32), "b": np.array([0.1, -0.2], np.float32)}
    head = LearnedRouter.from_softmax(params, np.zeros(len(FEATURES)), np.ones(len(FEATURES)),
                                      feature_names=HEAD_FEATURES)
    assert head.embed_dim == 384 and head.get_params()["w"].shape == (d,)
    back = LearnedRouter.from_bytes(head.to_bytes())
    assert back.version == head.version and back.feature_names == HEAD_FEATURES
    plain = LearnedRouter.from_softmax({"w": params["w"][: 384 + len(FEATURES)], "b": params["b"]},
                                       np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
    assert plain.feature_names == () and plain.embed_dim == 384


def test_eval_adds_the_feature_heads_on_the_same_pairs(store: OnlineStore, pairs: list[Pair]) -> None:
    dev = [p for p in pairs if p.split == "dev"]
    test = [p for p in pairs if p.split == "test"]
    fd, ft = _rows(store, dev), _rows(store, test)
    store.close()
    names = {p.name: p for p in ev.policy_scores(dev, test, features=(fd, ft))[0]}
    assert {"learned", "learned+features", "learned-pre+features"} <= set(names)
    assert names["learned+features"].scores.shape == (len(test),)
    assert not np.allclose(names["learned+features"].scores, names["learned"].scores)
    oof = {p.name: p for p in ev.dev_scores(dev, features=fd)}
    assert oof["learned-pre+features"].scores.shape == (len(dev),) and not oof["learned-pre+features"].needs_draft


def test_route_ask_reads_the_drafts_products_from_the_feature_store(store: OnlineStore, pairs: list[Pair]) -> None:
    from frugalstack.edge.router import CloudClient
    from frugalstack.edge.router.hook import route_ask
    from frugalstack.edge.router.localcloud import free_port

    dev = [p for p in pairs if p.split == "dev"]
    class Stored:  # the query's MiniLM vector as `frugal route eval` stored it (no model load in this test)
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [pairs[0].embedding for _ in texts]

    head = LearnedRouter(feature_names=HEAD_FEATURES, embedder=Stored())
    head.fit(np.array([p.embedding for p in dev]), np.array([p.signals for p in dev]),
             np.array([p.cloud_score > p.edge_score for p in dev], np.float32), feature_rows=_rows(store, dev))
    seen: list[object] = []
    score = head.score
    head.score = lambda ctx: (seen.append(ctx.features), score(ctx))[1]  # type: ignore[method-assign]
    ids = pairs[0].retrieved_edge
    answer = {"answer": "It lasts 14 hours [" + ids[0] + "].", "mentioned_ids": [ids[0]],
              "retrieval": {"hits": [{"id": i, "kind": "product", "vector_score": 0.7} for i in ids]}}
    dead = CloudClient(f"http://127.0.0.1:{free_port()}/v1", deadline_s=2)  # online, but nothing listens
    res = route_ask(object(), "How long does the battery last?", lambda: answer, head, dead,
                    lambda: [{"role": "user", "content": "q"}], feature_store=store)
    feats = seen[0]
    assert isinstance(feats, dict) and feats == feature_signals(store, product_ids=ids)
    assert feats["f_features_known"] == 1.0 and res.answered_by == "edge"
    store.close()
