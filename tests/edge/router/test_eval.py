"""Route evaluation and calibration on real collected pairs (a small shipped slice of a `frugal route eval` run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from frugalstack.edge.router import evaluate as ev
from frugalstack.edge.router import report
from frugalstack.edge.router.calibrate import make_router
from frugalstack.edge.router.collect import Pair
from frugalstack.edge.router.config import PriceTier, energy_j_per_token, price_tier
from frugalstack.edge.router.dataset import EvalQuery, load, sample_queries
from frugalstack.edge.router.learned import LearnedRouter
from frugalstack.edge.router.scoring import fact_score, parse_judge
from frugalstack.shared.errors import ConfigError

DATA = Path(__file__).parent / "data" / "pairs-small.jsonl"


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return [Pair(**json.loads(x)) for x in DATA.read_text().splitlines() if x.strip()]


def test_fact_scoring() -> None:
    q = EvalQuery("1", "in stock?", "product_question", facts=[["in stock", "available"]])
    assert fact_score("Yes, it is in stock.", q) == 1.0
    assert fact_score("Sorry, it is not in stock.", q) == 0.0
    wp = EvalQuery("2", "waterproof?", "product_question", facts=[["yes"]])
    assert fact_score("Yes, it is waterproof.", wp) == 1.0 and fact_score("No, it is not waterproof.", wp) == 0.0
    two = EvalQuery("3", "fee?", "shipping", facts=[["4.95"], ["50"]])
    assert fact_score("Delivery is €4.95.", two) == 0.5 and fact_score("€4.95, free over €50", two) == 1.0
    assert fact_score("costs 199.99", EvalQuery("4", "", None, facts=[["99.99"]])) == 0.0
    assert parse_judge("Score: 4") == 0.75 and parse_judge("no idea") is None


def test_sample_dataset_loads_with_facts() -> None:
    queries, records, source = load()
    sub = sample_queries(queries, 10)
    assert source in ("sample", "evaluation") and len(sub) == 20 and {q.split for q in sub} == {"dev", "test"}
    assert all(r.text for r in records[:5]) and any(q.facts for q in sub)


def test_calibrate_meets_its_target() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    edge, cloud = np.array([0.0, 0.0, 1.0, 1.0, 1.0]), np.ones(5)
    q = ev.calibrate(scores, edge, cloud, min_quality_rel=0.95)
    assert q["met"] and q["cloud_share"] == pytest.approx(0.4) and q["threshold"] == pytest.approx(0.8)
    s = ev.calibrate(scores, edge, cloud, max_cloud_share=0.2)
    assert s["cloud_share"] <= 0.2 and s["quality_rel"] == pytest.approx(0.8)
    with pytest.raises(ValueError):
        ev.calibrate(scores, edge, cloud)


def test_report_on_real_pairs(pairs: list[Pair], tmp_path: Path) -> None:
    from frugalstack.edge.profiles import get_profile

    r = report.build(pairs, price_tier("gpt-4o-mini"), energy_j_per_token(get_profile("laptop-x86")), 0.2,
                     "sample", tmp_path)
    rows = {row["policy"]: row for row in r["table"]}
    assert rows["cloud-only"]["quality_rel"] == pytest.approx(1.0) and rows["cloud-only"]["cloud_share"] == 1.0
    assert rows["edge-only"]["cloud_share"] == 0.0 and rows["edge-only"]["cloud_usd_per_1k"] == 0.0
    assert rows["cloud-only"]["cloud_usd_per_1k"] > 0
    assert any(k.startswith("budget") for k in rows)
    for name, curve in r["curves"].items():
        assert len(curve) == len(ev.SHARES), name
        oracle = r["curves"]["oracle"]
        assert all(o["quality"] >= c["quality"] - 1e-9 for o, c in zip(oracle, curve, strict=True)), name
    assert r["curves"]["random"][0]["quality"] == pytest.approx(rows["edge-only"]["quality"])
    for f in ("route_eval.json", "route_eval.md", "route_curve.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert "| policy |" in (tmp_path / "route_eval.md").read_text()


def test_calibrate_cli_stores_threshold_with_version(pairs: list[Pair], tmp_path: Path) -> None:
    from frugalstack.edge.cli.main import app

    cache, store = tmp_path / "cache", tmp_path / "store"
    cache.mkdir()
    shutil.copy(DATA, cache / "pairs.jsonl")
    runner = CliRunner()
    res = runner.invoke(app, ["route", "calibrate", "--policy", "confidence", "--max-cloud-share", "0.3",
                              "--cache", str(cache), "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["cloud_share"] <= 0.3 and out["version"] == "confidence-v1"
    router = make_router("confidence", store)
    assert router.fallback.threshold == pytest.approx(out["threshold"])  # type: ignore[attr-defined]
    res = runner.invoke(app, ["route", "calibrate", "--policy", "learned", "--min-quality", "0.9",
                              "--cache", str(cache), "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    learned = json.loads(res.stdout)
    head = make_router("learned", store).fallback  # type: ignore[attr-defined]
    assert isinstance(head, LearnedRouter) and head.version == learned["version"]
    head.set_params({"w": np.ones_like(head.params["w"]), "b": head.params["b"]})
    head.save(store / "learned")  # a head changed after calibration no longer matches it
    with pytest.raises(ConfigError):
        make_router("learned", store)
    bad = runner.invoke(app, ["route", "calibrate", "--cache", str(cache), "--store", str(store)])
    assert bad.exit_code != 0


def test_price_tier_cost() -> None:
    t = PriceTier("x", input_per_1m=1.0, output_per_1m=2.0, per_call=0.001)
    assert t.cost(1000, 500) == pytest.approx(0.001 + 0.001 + 0.001)
    with pytest.raises(ConfigError):
        price_tier("no-such-tier")
