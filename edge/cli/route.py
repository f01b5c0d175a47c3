"""``frugal route``: evaluate and calibrate the edge/cloud router on the labelled sample queries."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(help="Edge/cloud routing: evaluate policies, calibrate thresholds.", no_args_is_help=True)

CacheOpt = Annotated[Path, typer.Option(help="Folder of collected answer pairs (resumable).")]
DEFAULT_CACHE = Path("route-eval")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _pairs(cache: Path, **kw: Any) -> tuple[list[Any], str]:
    from frugalstack.edge.router.run import collect_pairs

    with console.status("answering on both arms (edge draft + cloud)...") as status:
        return collect_pairs(cache / "pairs.jsonl", progress=lambda i, n: status.update(f"answered {i}/{n}"), **kw)


def _energy(profile: str | None) -> float:
    from frugalstack.edge.profiles import get_profile
    from frugalstack.edge.router.config import energy_j_per_token

    return energy_j_per_token(get_profile(profile or "laptop-x86"))


@app.command("eval")
def eval_cmd(
    cache: CacheOpt = DEFAULT_CACHE,
    out: Annotated[Path | None, typer.Option(help="Report folder (default: the cache folder).")] = None,
    source: Annotated[str, typer.Option(help="Dataset: auto | sample | evaluation.")] = "auto",
    cloud_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible base URL of the cloud model, e.g. http://127.0.0.1:8000/v1; "
             "default: start `frugal edge serve` on 127.0.0.1 as a stand-in.")] = None,
    cloud_model: Annotated[str, typer.Option(help="Model name sent to the cloud endpoint.")] = "default",
    per_split: Annotated[int, typer.Option(help="Queries per split (dev, test); 0 = all.")] = 40,
    edge_k: Annotated[int, typer.Option(help="Records the device gives its model.")] = 2,
    cloud_k: Annotated[int, typer.Option(help="Records the cloud gives its model (hybrid search).")] = 1,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per answer.")] = 40,
    threads: Annotated[int | None, typer.Option(
        help="llama.cpp threads per arm (1 is fastest on a busy shared CPU; default: the profile's).")] = None,
    price_tier: Annotated[str | None, typer.Option(help="Row of the price table (default: its default_tier).")] = None,
    prices: Annotated[Path | None, typer.Option(help="Price table YAML (default: the shipped one).")] = None,
    profile: Annotated[str | None, typer.Option(help="Device profile for the energy per token.")] = None,
    min_quality: Annotated[float, typer.Option(help="Quality target relative to cloud-only.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Answer the test queries on both arms, then report every policy, the curve (PNG) and the headline."""
    _offline()
    from frugalstack.edge.router import report
    from frugalstack.edge.router.config import device_usd_per_kwh
    from frugalstack.edge.router.config import price_tier as get_tier

    pairs, src = _pairs(cache, source=source, cloud_url=cloud_url, cloud_model=cloud_model, edge_k=edge_k,
                        cloud_k=cloud_k, max_tokens=max_tokens, limit=per_split or None, threads=threads)
    r = report.build(pairs, get_tier(price_tier, prices), _energy(profile), device_usd_per_kwh(prices), src,
                     out or cache, min_quality_rel=min_quality)
    if as_json:
        print_json({k: v for k, v in r.items() if k != "curves"})
        return
    t = Table(title=f"route eval: {r['n_test']} test queries ({src}); quality relative to cloud-only")
    for col in ("policy", "quality", "cloud share", "$/1k", "Wh/1k", "p50 ms", "p95 ms"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for row in r["table"]:
        t.add_row(row["policy"], f"{row['quality_rel']:.1%}", f"{row['cloud_share']:.0%}", f"{row['usd_per_1k']:.4f}",
                  f"{row['device_wh_per_1k']:.2f}", f"{row['p50_ms']:.0f}", f"{row['p95_ms']:.0f}")
    console.print(t)
    h = r["headline"]
    if h["calibrated_best"]:
        console.print(f"headline: {h['calibrated_best']['policy']} keeps {h['calibrated_best']['quality_rel']:.1%} of "
                      f"cloud-only quality with {h['cloud_call_reduction']:.0%} fewer cloud calls "
                      f"({h['cost_reduction_vs_cloud_only']:.0%} lower cost)")
    else:
        console.print(f"headline: no calibrated policy reached {min_quality:.0%} of cloud-only quality on test")
    console.print(f"report: {(out or cache) / 'route_eval.md'}, curve: {(out or cache) / 'route_curve.png'}")


@app.command("calibrate")
def calibrate_cmd(
    policy: Annotated[str, typer.Option(help="confidence | confidence-pre | cascade | learned | learned-pre | "
                                             "rules+confidence")] = "rules+confidence",
    max_cloud_share: Annotated[float | None, typer.Option(help="Target: at most this share to the cloud.")] = None,
    min_quality: Annotated[float | None, typer.Option(help="Target: at least this quality vs cloud-only.")] = None,
    cache: CacheOpt = DEFAULT_CACHE,
    store: Annotated[Path | None, typer.Option(help="Where routers live (default: FRUGAL_HOME/router).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pick the threshold meeting the target on the dev split of collected pairs; store it with the router version."""
    _offline()
    import numpy as np

    from frugalstack.edge.router import calibrate as cal
    from frugalstack.edge.router import evaluate as ev
    from frugalstack.edge.router.collect import Pair
    from frugalstack.shared.errors import ConfigError, ValidationError

    if (max_cloud_share is None) == (min_quality is None):
        raise ValidationError("give exactly one target: --max-cloud-share or --min-quality")
    if policy not in cal.POLICIES:
        raise ConfigError(f"unknown policy {policy!r}", hint=f"one of {', '.join(cal.POLICIES)}")
    path = cache / "pairs.jsonl"
    if not path.is_file():
        raise ConfigError(f"no collected pairs at {path}", hint="run `frugal route eval` first")
    pairs = [Pair(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    dev = [p for p in pairs if p.split == "dev"]
    _, head = ev.policy_scores(dev, dev)  # the head that ships is trained on all of dev
    chosen = next((p for p in ev.dev_scores(dev) if p.name == policy), None)  # thresholds from out-of-fold scores
    if chosen is None:
        raise ValidationError(f"policy {policy} could not be fitted on {len(dev)} dev pairs (needs both outcomes)")
    res = ev.calibrate(chosen.scores, np.array([p.edge_score for p in dev]), np.array([p.cloud_score for p in dev]),
                       min_quality_rel=min_quality, max_cloud_share=max_cloud_share)
    learned_head = None
    if policy.startswith("learned"):
        from frugalstack.edge.router.learned import LearnedRouter

        learned_head = head if policy == "learned" else LearnedRouter(use_signals=False)
        if policy == "learned-pre":
            y = np.array([p.cloud_score > p.edge_score for p in dev], np.float32)
            learned_head.fit(np.array([p.embedding for p in dev]), None, y)
    version = learned_head.version if learned_head else cal.STATIC_VERSIONS[policy]
    where = cal.save(store or cal.default_store(), policy, res, version, f"{len(dev)} dev pairs from {path}",
                     learned_head)
    out = {"policy": policy, "version": version, **res, "stored": str(where)}
    if as_json:
        print_json(out)
    else:
        console.print(f"{policy} ({version}): threshold {res['threshold']:.4f} -> dev cloud share "
                      f"{res['cloud_share']:.0%}, quality {res['quality_rel']:.1%} of cloud-only"
                      f"{'' if res['met'] else ' (target NOT met)'}; stored in {where}")
