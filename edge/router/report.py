"""Build the route evaluation report (JSON + markdown table + PNG curve) from collected pairs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.router import evaluate as ev
from frugalstack.edge.router.budget import BudgetRouter, DailyBudget, DeviceState, Ledger
from frugalstack.edge.router.collect import Pair
from frugalstack.edge.router.config import PriceTier
from frugalstack.edge.router.types import RouteContext, ThresholdRouter
from frugalstack.shared.errors import ValidationError

ARM_NOTE = ("edge = SmolLM2-135M-Instruct Q4_1 (llama.cpp) on the device, top-k MiniLM records; cloud = the model "
            "behind the OpenAI-compatible endpoint given the top record(s) of a hybrid BM25+vector search over the "
            "full catalog")


class _Fixed(ThresholdRouter):
    """A score policy replaying precomputed scores (for the budget simulation)."""

    def __init__(self, scores: np.ndarray, threshold: float, name: str):
        super().__init__(threshold)
        self.scores, self.name, self.i = scores, f"{name}", 0

    def score(self, ctx: RouteContext) -> tuple[float, str]:
        return float(self.scores[int(ctx.query)]), "replayed"


def budget_rows(arms: ev.Arms, base: ev.Policy, threshold: float, calls_share: float,
                j_per_token: float) -> list[dict[str, Any]]:
    """Replay the test set in order through ``BudgetRouter`` under three device situations."""
    rows = []
    for label, state in (("budget", DeviceState(energy_j_per_token=j_per_token)),
                         ("budget+metered", DeviceState(metered=True, energy_j_per_token=j_per_token)),
                         ("budget+low-battery", DeviceState(battery=0.15, charging=False,
                                                            energy_j_per_token=j_per_token))):
        n = len(arms.edge)
        router = BudgetRouter(_Fixed(base.scores, threshold, base.name),
                              DailyBudget(calls=max(1, int(calls_share * n))), Ledger(), state=state)
        route = np.zeros(n, bool)
        for i in range(n):
            if router.decide(RouteContext(query=str(i))).target == "cloud":
                route[i] = True
                router.record_cloud_call(float(arms.cloud_usd[i]))
        rows.append({"policy": f"{label} ({base.name}, {calls_share:.0%} calls/day)",
                     **ev.outcome(arms, route, base.needs_draft)})
        router.ledger.close()
    return rows


def build(pairs: Sequence[Pair], tier: PriceTier, j_per_token: float, usd_per_kwh: float, source: str,
          out_dir: Path, min_quality_rel: float = 0.95, budget_share: float = 0.3) -> dict[str, Any]:
    dev = [p for p in pairs if p.split == "dev"]
    test = [p for p in pairs if p.split == "test"]
    if not dev or not test:
        raise ValidationError(f"the route report needs dev and test pairs (got {len(dev)} dev, {len(test)} test)",
                              hint="collect more: `frugal route eval` resumes its cache")
    arms = ev.Arms.of(test, tier, j_per_token)
    dev_arms = ev.Arms.of(dev, tier, j_per_token)
    policies, _ = ev.policy_scores(dev, test)
    dev_policies = ev.dev_scores(dev)  # for calibration (learned heads: out-of-fold)
    dev_by = {p.name: p for p in dev_policies}
    curves = ev.curves(arms, policies)
    n = len(test)
    table: list[dict[str, Any]] = [
        {"policy": "edge-only", **ev.outcome(arms, np.zeros(n), False)},
        {"policy": "cloud-only", **ev.outcome(arms, np.ones(n), False)},
    ]
    calibrated: dict[str, Any] = {}
    for p in policies:
        cal = ev.calibrate(dev_by[p.name].scores, dev_arms.edge, dev_arms.cloud, min_quality_rel=min_quality_rel)
        res = ev.outcome(arms, p.scores >= cal["threshold"], p.needs_draft)
        calibrated[p.name] = {"threshold": cal["threshold"], "dev": cal, "test": res, "version": p.version}
        table.append({"policy": f"{p.name} (calibrated on dev)", "threshold": round(cal["threshold"], 4), **res})
        label = f"random @ {res['cloud_share']:.0%}"
        if all(row["policy"] != label for row in table) and 0 < res["cloud_share"] < 1:
            table.append({"policy": label, **ev.random_at(arms, res["cloud_share"])})
    conf = next(p for p in policies if p.name == "confidence")
    table += budget_rows(arms, conf, calibrated["confidence"]["threshold"], budget_share, j_per_token)
    for row in table:  # device electricity into the per-1k cost
        row["device_usd_per_1k"] = row["device_wh_per_1k"] / 1000 * usd_per_kwh
        row["usd_per_1k"] = row["cloud_usd_per_1k"] + row["device_usd_per_1k"]
    cloud_cost = next(r for r in table if r["policy"] == "cloud-only")["usd_per_1k"]
    best_cal = min((r for r in table if "(calibrated" in r["policy"] and r["quality_rel"] >= min_quality_rel - 1e-9),
                   key=lambda r: r["usd_per_1k"], default=None)
    headline = {
        "min_quality_rel": min_quality_rel,
        "best_curve_points": {k: ev.cheapest_at(v, min_quality_rel) for k, v in curves.items()},
        "calibrated_best": best_cal,
        "cost_reduction_vs_cloud_only": (1 - best_cal["usd_per_1k"] / cloud_cost) if best_cal and cloud_cost else None,
        "cloud_call_reduction": (1 - best_cal["cloud_share"]) if best_cal else None,
    }
    report = {"source": source, "arms": ARM_NOTE, "price_tier": tier.name, "j_per_token": j_per_token,
              "n_dev": len(dev), "n_test": n, "edge_mean": float(arms.edge.mean()),
              "cloud_mean": float(arms.cloud.mean()),
              "cloud_better_share": float((arms.cloud > arms.edge).mean()),
              "edge_better_share": float((arms.edge > arms.cloud).mean()),
              "table": table, "curves": curves, "calibrated": calibrated, "headline": headline}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "route_eval.json").write_text(json.dumps(report, indent=2, default=float))
    (out_dir / "route_eval.md").write_text(markdown(report))
    plot(curves, out_dir / "route_curve.png")
    return report


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Route evaluation ({r['source']} dataset, {r['n_test']} test / {r['n_dev']} dev queries)", "",
             f"Arms: {r['arms']}. Prices: {r['price_tier']}; device energy {r['j_per_token']:.3f} J/token.", "",
             f"Mean fact score: edge {r['edge_mean']:.3f}, cloud {r['cloud_mean']:.3f}; cloud better on "
             f"{r['cloud_better_share']:.0%} of queries, edge better on {r['edge_better_share']:.0%}.", "",
             "| policy | quality vs cloud-only | cloud share | $ / 1k req | device Wh / 1k | p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|"]
    for row in r["table"]:
        lines.append(f"| {row['policy']} | {row['quality_rel']:.1%} | {row['cloud_share']:.1%} | "
                     f"{row['usd_per_1k']:.4f} | {row['device_wh_per_1k']:.2f} | {row['p50_ms']:.0f} | "
                     f"{row['p95_ms']:.0f} |")
    lines += ["", "## Quality vs cloud share (test)", "",
              "| share | " + " | ".join(r["curves"]) + " |", "|---" * (len(r["curves"]) + 1) + "|"]
    for i, share in enumerate(ev.SHARES):
        lines.append(f"| {share:.0%} | " + " | ".join(f"{c[i]['quality_rel']:.1%}" for c in r["curves"].values())
                     + " |")
    h = r["headline"]
    lines += ["", "## Headline", ""]
    for name, pt in h["best_curve_points"].items():
        lines.append(f"- {name}: " + (f"{pt['cloud_share']:.0%} cloud share reaches {pt['quality_rel']:.1%}"
                                      if pt else f"never reaches {h['min_quality_rel']:.0%}"))
    if h["calibrated_best"]:
        lines.append(f"- calibrated best: {h['calibrated_best']['policy']} - cost reduction "
                     f"{h['cost_reduction_vs_cloud_only']:.1%}, cloud calls -{h['cloud_call_reduction']:.1%}")
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rows in curves.items():
        style = "--" if name in ("random", "oracle") else "-"
        ax.plot([r["cloud_share"] for r in rows], [r["quality_rel"] for r in rows], style, marker=".", label=name)
    ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("share of requests sent to the cloud")
    ax.set_ylabel("quality relative to cloud-only")
    ax.set_title("frugal route eval: quality vs cloud share (test split)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
