"""Cloud -> manifest -> device -> lookup, through a real uvicorn on loopback and the real OTA client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from frugalstack.cloud.features.transforms import product_stats, synth_events
from frugalstack.edge.features import STANDARD, OnlineStore
from frugalstack.edge.ota.client import OtaClient
from frugalstack.edge.ota.sync import upload
from frugalstack.edge.sampledata import PRODUCTS_FILE
from frugalstack.edge.sampledata.make import load_products
from frugalstack.shared.schemas import TraceRecord

SENTINEL = "quokkasentinel"


def _products(n: int = 300) -> list[dict[str, Any]]:
    return load_products(PRODUCTS_FILE)[:n]


@pytest.mark.slow
def test_materialized_snapshot_reaches_the_device_and_is_looked_up(cloud: Any, tmp_path: Path) -> None:
    now = time.time()
    products = _products()
    rows = product_stats(synth_events(products, start=now - 30 * 86_400, days=30, views_per_day=600),
                         products, [now - 3600])
    with cloud.admin() as c:
        r = c.post("/v1/features/apply", json=STANDARD.model_dump(mode="json"))
        assert r.status_code == 200, r.text
        assert {v["name"] for v in r.json()} == {"product_stats", "category_quality", "locale_intents",
                                                 "device_history"}
        assert c.post("/v1/features/views/product_stats/rows", json={"rows": rows}).json() == {"ingested": len(rows)}
        cq = [{"entity_key": "Apparel > Outerwear", "event_ts": now - 60, "values": {"answer_quality": 0.7,
                                                                                     "escalation_rate": 0.2}},
              {"entity_key": "Toys > Puzzles", "event_ts": now - 60, "values": {"answer_quality": 0.9}}]
        assert c.post("/v1/features/views/category_quality/rows", json={"rows": cq}).status_code == 200
        bad = c.post("/v1/features/views/product_stats/rows", json={"rows": [{"entity_key": "x", "values": {}}]})
        assert bad.status_code == 422  # no event_ts
        assert c.post("/v1/features/materialize", json={"views": ["device_history"], "profile": "p"}).status_code == 422
        snap = c.post("/v1/features/materialize", json={"views": ["product_stats", "category_quality"],
                                                        "profile": "laptop-x86", "categories": ["Apparel"]})
        assert snap.status_code == 201, snap.text
        hist = c.post("/v1/features/historical", json={
            "entity_rows": [{"product": products[0]["id"], "event_timestamp": now},  # before the rows arrived
                            {"product": products[0]["id"], "event_timestamp": time.time()}],
            "features": ["product_stats:views_7d"]})
        assert [r["product_stats:views_7d"] for r in hist.json()["rows"]] == [None, rows[0]["values"]["views_7d"]]
        actions = [e["action"] for e in c.get("/v1/audit", params={"limit": 1000}).json()]
        assert {"feature_view.apply", "feature_rows.ingest", "feature_snapshot.create"} <= set(actions)
    apparel = [p for p in products if p["category"].startswith("Apparel")]
    other = next(p for p in products if not p["category"].startswith("Apparel"))
    assert snap.json()["row_count"] == len(apparel) + 1  # the slice: Apparel products + one Apparel category

    device_id, key = cloud.device("laptop-x86")
    _other_id, other_key = cloud.device("phone-arm")
    with cloud.client(other_key) as c:  # a device of another profile may not read this slice
        assert c.get(f"/v1/features/snapshots/{snap.json()['id']}/content").status_code == 403
    db = tmp_path / "features.db"
    with OtaClient(cloud.url, key, device_id, tmp_path / "models", features_db=db) as ota:
        first = ota.update(loader=None, report=False)
        assert first.status == "no_model" and first.features == "loaded"
        assert first.manifest.features is not None and first.manifest.features.snapshot_id == snap.json()["id"]
        assert ota.update(loader=None, report=False).features == "up_to_date"
        if cloud.kind == "sqlite":  # a snapshot altered on the server's disk is refused; the old one stays
            with cloud.admin() as c:
                newer = c.post("/v1/features/materialize", json={"views": ["category_quality"],
                                                                 "profile": "laptop-x86"}).json()
            blob = next(p for p in Path(cloud.data_dir).rglob(f"{newer['sha256']}*") if p.is_file())
            blob.write_bytes(blob.read_bytes()[:-8] + b"tampered")
            assert ota.update(loader=None, report=False).features.startswith("failed: ")
            with OnlineStore(db) as store:
                assert store.snapshot_id() == snap.json()["id"]
            with cloud.admin() as c:  # a fresh materialization of the full slice becomes the newest again
                snap = c.post("/v1/features/materialize", json={"views": ["product_stats", "category_quality"],
                                                                "profile": "laptop-x86", "categories": ["Apparel"]})
            assert ota.update(loader=None, report=False).features == "loaded"

    refs = [f"product_stats:{f}" for f in STANDARD.view("product_stats").feature_names] + [
        "category_quality:answer_quality", "category_quality:escalation_rate", "device_history:queries_30m"]
    want = next(r["values"] for r in rows if r["entity_key"] == apparel[0]["id"])
    with OnlineStore(db) as store:
        got = store.get_online_features({"product": apparel[0]["id"], "category": "Apparel > Outerwear"}, refs)
        assert got.stale == [] and got.missing == []
        assert got.values["product_stats:views_7d"] == want["views_7d"]
        assert got.values["product_stats:popularity"] == round(want["popularity"], 4)
        assert got.values["category_quality:escalation_rate"] == 0.2
        outside = store.get_online_features({"product": other["id"]}, ["product_stats:price"])
        assert outside.missing == ["product_stats:price"]  # not in this device's slice
        stale = store.get_online_features({"product": apparel[0]["id"]}, ["product_stats:price"],
                                          now=now + 4 * 86_400)
        assert stale.stale == ["product_stats:price"] and stale.values["product_stats:price"] is None

        # device-history features: computed here, never uploaded raw
        store.history.record_query(f"is the {SENTINEL} parka warm?", intent="product_question",
                                   category="Apparel > Outerwear")
        store.history.record_view(f"Apparel > {SENTINEL}")
        assert store.get_online_features({}, ["device_history:queries_30m"]).values == {
            "device_history:queries_30m": 1}
    rec = TraceRecord(trace_id="t1", timestamp=time.time(), model="m", backend="llama_cpp",
                      device_profile="laptop-x86", input_tokens=5, output_tokens=7)
    assert upload(cloud.url, key, device_id, [rec]).accepted
    with OtaClient(cloud.url, key, device_id, tmp_path / "models", features_db=db) as ota:
        ota.update(loader=None, report=True)
    if cloud.kind == "sqlite":  # the whole cloud data dir (DB, WAL, blobs) holds nothing of the local history
        blob = b"".join(p.read_bytes() for p in Path(cloud.data_dir).rglob("*") if p.is_file())
        assert SENTINEL.encode() not in blob
