"""Each routing policy decides edge/cloud for the reason it claims, and its score moves the right way."""

from __future__ import annotations

import numpy as np
import pytest

from frugalstack.edge.router import (
    BudgetRouter,
    CascadeRouter,
    ConfidenceRouter,
    DailyBudget,
    DeviceState,
    Draft,
    LearnedRouter,
    Ledger,
    RouteContext,
    Router,
    RulesRouter,
)
from frugalstack.edge.router.signals import FEATURES, compute, from_vector, is_refusal
from frugalstack.shared.errors import ValidationError

SURE = Draft(text="The Fjellwear Umber Air Parka [p-00001] costs €99.33.", logprobs=[-0.01] * 12,
             top_logprobs=[{"a": -0.01, "b": -6.0}] * 12, retrieval_scores=[0.92, 0.41], citations=["p-00001"],
             latency_ms=800.0, output_tokens=12)
UNSURE = Draft(text="It might be around 40 or maybe something else, hard to say really.", logprobs=[-2.5] * 14,
               top_logprobs=[{"a": -1.0, "b": -1.1, "c": -1.3}] * 14, retrieval_scores=[0.31, 0.30],
               latency_ms=900.0, output_tokens=14)
QUERY = "How much is the Fjellwear Umber Air Parka?"


def ctx(draft: Draft | None = None, **kw: object) -> RouteContext:
    return RouteContext(query=QUERY, draft=draft, **kw)  # type: ignore[arg-type]


def test_every_policy_is_a_router() -> None:
    inner = ConfidenceRouter()
    for r in (RulesRouter(), inner, CascadeRouter(), LearnedRouter(), BudgetRouter(inner, DailyBudget(calls=3))):
        assert isinstance(r, Router)


@pytest.mark.parametrize(("kw", "target", "rule"), [
    ({"online": False, "guard_action": "escalate"}, "edge", "offline"),
    ({"guard_action": "escalate"}, "cloud", "guard"),
    ({"user_wants_cloud": True}, "cloud", "user"),
    ({"intent": "order_status"}, "cloud", "intent"),
    ({"intent": "return_refund"}, "cloud", "intent"),
    ({"intent": "account"}, "cloud", "intent"),
])
def test_rules(kw: dict[str, object], target: str, rule: str) -> None:
    d = RulesRouter(fallback=ConfidenceRouter()).decide(ctx(SURE, **kw))
    assert (d.target, d.details["rule"], d.policy) == (target, rule, "rules")


def test_rules_fall_through_to_the_fallback() -> None:
    assert RulesRouter().decide(ctx(intent="product_question")).target == "edge"
    d = RulesRouter(fallback=ConfidenceRouter()).decide(ctx(UNSURE, intent="product_question"))
    assert (d.policy, d.target) == ("confidence", "cloud")


def test_signals() -> None:
    s = compute(QUERY, SURE)
    assert s.has_logprobs and s.has_retrieval and s.citations == 1 and s.refusal == 0
    assert s.mean_logprob == pytest.approx(-0.01) and s.score_gap == pytest.approx(0.51)
    assert compute(QUERY, UNSURE).mean_entropy > s.mean_entropy
    assert is_refusal("I'm sorry, I cannot help with that.") and not is_refusal("It costs €12.")
    back = from_vector(s.vector())
    assert [getattr(back, f) for f in FEATURES] == pytest.approx([getattr(s, f) for f in FEATURES])


def test_confidence_orders_sure_below_unsure() -> None:
    r = ConfidenceRouter(threshold=0.5)
    sure, unsure = r.decide(ctx(SURE)), r.decide(ctx(UNSURE))
    assert sure.score < 0.3 < 0.6 < unsure.score
    assert (sure.target, unsure.target) == ("edge", "cloud")
    assert "retrieval" in unsure.reason or "logprob" in unsure.reason


@pytest.mark.parametrize("bad", [Draft(text="I'm sorry, I don't know."), Draft(text=""),
                                 Draft(text="It costs €5.00", grounding_failures=1)])
def test_hard_failures_always_escalate(bad: Draft) -> None:
    bad.logprobs, bad.retrieval_scores = [-0.01] * 5, [0.95, 0.2]
    for r in (ConfidenceRouter(threshold=0.99), CascadeRouter(threshold=0.99)):
        d = r.decide(ctx(bad))
        assert (d.target, d.score) == ("cloud", 1.0)


def test_pre_generation_confidence_ignores_the_draft_text() -> None:
    pre = ConfidenceRouter(use_draft=False)
    assert not pre.needs_draft
    refusal = Draft(text="I'm sorry", retrieval_scores=SURE.retrieval_scores)
    assert pre.decide(ctx(refusal)).score == pre.decide(ctx(SURE)).score < 0.3


def test_cascade_keeps_the_draft_and_reports_its_latency_cost() -> None:
    r = CascadeRouter(threshold=0.5)
    up, kept = r.decide(ctx(UNSURE)), r.decide(ctx(SURE))
    assert up.target == "cloud" and up.details["draft_kept"] and up.details["latency_cost_ms"] == 900.0
    assert kept.target == "edge" and kept.details["latency_cost_ms"] == 0.0
    assert r.decide(ctx(None)).target == "cloud"  # nothing to verify


def test_learned_head_fits_saves_and_swaps_parameters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((80, 384)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = (emb[:, 0] > 0).astype(np.float32)  # "cloud better" when the first direction is positive
    sig = np.stack([compute(QUERY, SURE if t else UNSURE).vector() for t in y])
    head = LearnedRouter()
    fit = head.fit(emb, sig, y)
    assert fit["accuracy"] > 0.9
    p = head.get_params()
    assert set(p) == {"w", "b"} and p["w"].shape == (384 + len(FEATURES),)
    path = head.save(tmp_path / "learned")
    again = LearnedRouter.load(path)
    assert again.version == head.version != "untrained"
    x = head.features(emb, sig)
    assert np.allclose(again.predict_proba(x), head.predict_proba(x))
    again.set_params({"w": np.zeros_like(p["w"]), "b": np.zeros(1, np.float32)})  # what FedAvg would hand back
    assert again.version != head.version and np.allclose(again.predict_proba(x), 0.5)
    with pytest.raises(ValidationError):
        again.set_params({"w": np.zeros(3, np.float32)})
    d = head.decide(RouteContext(query=QUERY, draft=SURE, embedding=emb[0]))
    assert d.policy == "learned" and 0.0 <= d.score <= 1.0 and head.version in d.reason


def test_learned_needs_both_outcomes() -> None:
    with pytest.raises(ValidationError):
        LearnedRouter(use_signals=False).fit(np.zeros((6, 384)), None, np.ones(6))


def test_budget_moves_the_threshold(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inner = ConfidenceRouter(threshold=0.4)
    ledger = Ledger(tmp_path / "spend.db")
    r = BudgetRouter(inner, DailyBudget(calls=4, usd=1.0), ledger, device_id="d1")
    base = r.effective_threshold()
    assert base == pytest.approx(0.4)
    assert r.effective_threshold(DeviceState(metered=True)) > base
    low = DeviceState(battery=0.1, charging=False, energy_j_per_token=0.1)
    assert r.effective_threshold(low) < r.effective_threshold(DeviceState(battery=0.1, charging=False,
                                                                          energy_j_per_token=0.01)) < base
    r.record_cloud_call(0.01)
    r.record_cloud_call(0.01)
    assert r.effective_threshold() > base
    assert r.decide(ctx(UNSURE)).details["spent_fraction"] == pytest.approx(0.5)
    r.record_cloud_call(0.01)
    r.record_cloud_call(0.01)
    d = r.decide(ctx(UNSURE))
    assert d.target == "edge" and "budget spent" in d.reason
    ledger.close()
    again = Ledger(tmp_path / "spend.db")  # the spend survives a restart
    assert again.spent("d1") == (4, pytest.approx(0.04))
    assert again.spent("d2") == (0, 0.0)
    again.close()
