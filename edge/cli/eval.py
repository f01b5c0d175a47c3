"""``frugal eval``: evaluate a model on a suite (quality, toxicity, bias, robustness, efficiency), compare two
records, and post a record to the cloud registry where it gates promotion to production."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Evaluate models: task quality, toxicity, bias, robustness, efficiency; the production gate.",
                  no_args_is_help=True)


def _derived(model: str, quantization: str) -> str:
    """A GGUF re-quantized from ``model`` by llama.cpp's quantizer (cached, like ``frugal bench``'s)."""
    from frugalstack.edge.bench.runner import _derive
    from frugalstack.edge.bench.suite import Derived, ModelEntry
    from frugalstack.edge.settings import EdgeSettings

    entry = ModelEntry(label=f"{model}-{quantization}", derive=Derived(source=model, quantization=quantization))
    return _derive(entry, EdgeSettings().home / "bench-models")


def _fmt(m: dict[str, Any] | None) -> str:
    if not m or m.get("value") is None:
        return "missing"
    if m.get("ci_low") is None:
        return f"{m['value']:.4g}"
    return f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]"


@app.command("run")
def run(
    suite: Annotated[str, typer.Argument(help="Suite YAML path, or a shipped suite: default, tiny.")] = "default",
    model: Annotated[str, typer.Option("--model", "-m", help="Catalogue id or path to a .gguf artifact.")] = (
        "smollm2-135m-instruct-q4_1"),
    derive: Annotated[str | None, typer.Option(help="Evaluate a GGUF re-quantized from --model (e.g. f16).")] = None,
    backend: Annotated[str | None, typer.Option(help="Backend override (default: the model's).")] = None,
    profile: Annotated[str | None, typer.Option(help="Device profile (default: auto).")] = None,
    threads: Annotated[int | None, typer.Option(help="Override the profile's thread count (1 on a busy host).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the record JSON.")] = None,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of a judge model, e.g. "
                                                       "http://127.0.0.1:8080/v1.")] = None,
    judge_model: Annotated[str, typer.Option(help="Model name to ask the judge endpoint for.")] = "judge",
    no_efficiency: Annotated[bool, typer.Option("--no-efficiency", help="Skip the bench cell.")] = False,
    no_prefix_cache: Annotated[bool, typer.Option("--no-prefix-cache", help="Generate through the runtime's chat "
                                                  "path (KV cache reset per request) instead of reusing the shared "
                                                  "prompt prefix on llama.cpp models.")] = False,
    upload: Annotated[str | None, typer.Option(help="Cloud URL to post the record to (needs --model-version).")] = None,
    model_version: Annotated[str | None, typer.Option(help="Registry model-version id the record belongs to.")] = None,
    api_key: Annotated[str | None, typer.Option(help="Cloud API key (default: FRUGAL_API_KEY).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Run SUITE on --model and write an evaluation record; with --upload, post it to the registry."""
    from frugalstack.edge.cli.output import console, err_console, print_json
    from frugalstack.edge.evaluation import record as rec
    from frugalstack.edge.evaluation.runner import evaluate
    from frugalstack.edge.evaluation.suite import load_suite
    from frugalstack.shared.errors import ConfigError

    if upload and not model_version:
        raise ConfigError("--upload needs --model-version (the registry version this record gates)")
    spec, suite_dir = load_suite(suite)
    target = _derived(model, derive) if derive else model
    if threads:
        from frugalstack.edge.evaluation.model import profile_with_threads

        profile = profile_with_threads(profile, threads)
    record = evaluate(spec, target, suite_dir=suite_dir, backend=backend, profile=profile, judge_url=judge_url,
                      judge_model=judge_model, efficiency=False if no_efficiency else None,
                      prefix_cache=not no_prefix_cache,
                      progress=lambda msg: err_console.print(f"[dim]{msg}[/dim]", highlight=False))
    if derive:
        record["model"]["derived_from"] = _derivation(model, derive)
    path = out or Path("eval-out") / f"{spec.name}-{Path(record['model']['id']).stem}.json"
    rec.save(record, path)
    if json_out:
        print_json(record)
    else:
        _print_record(record, console)
        console.print(f"record: {path}")
    if upload:
        assert model_version is not None
        answer = rec.upload(record, upload, model_version, api_key or os.environ.get("FRUGAL_API_KEY"))
        ev = answer["evaluation"]
        console.print(f"uploaded: evaluation {ev['id']} passed={ev['passed']} (run {answer['run_id']})")


def _derivation(model: str, quantization: str) -> dict[str, Any]:
    """What a ``--derive`` artifact is made of, stored in the record so no reader mistakes it for an original."""
    from frugalstack.edge.catalog import get_spec, resolve_path
    from frugalstack.optimizers.checkpoint import file_sha256

    src = Path(model) if Path(model).is_file() else resolve_path(get_spec(model))
    return {"source": model, "source_file": src.name, "source_sha256": file_sha256(src), "quantization": quantization,
            "tool": "llama.cpp llama_model_quantize",
            "note": f"{quantization} re-quantization of {src.name}: it drops the source's quantized compute path "
                    "but cannot restore information the source's quantization lost, so quality differences vs "
                    "the source are a lower bound on the loss vs an original full-precision model"}


def _print_record(record: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    m = record["model"]
    t = Table(title=f"{record['suite']['name']}@{record['suite']['version']} on {m['id']} "
                    f"({m['quantization'] or m['format']}, sha256 {m['sha256'][:12]}) in {record['duration_s']:.0f} s")
    t.add_column("metric")
    t.add_column("value [95% CI]")
    for name, metric in record["metrics"].items():
        t.add_row(name, _fmt(metric))
    console.print(t)
    if m.get("derived_from"):
        console.print(f"[yellow]derived artifact:[/yellow] {m['derived_from']['note']}", highlight=False)
    bias = record["sections"].get("bias")
    if bias:
        console.print("bias, significant differences (permutation p < 0.05): "
                      + (", ".join(bias["real_differences"]) or "none"))
    g = record["gate"]
    console.print(f"gate ({g['use_case']}): " + ("PASS" if g["passed"] else "FAIL: " + "; ".join(g["failures"])))
    j = record["sections"].get("judge", {})
    if j.get("status") == "missing":
        console.print(f"judge metrics missing: {j.get('reason') or 'no usable answers'}")


@app.command("compare")
def compare(
    a: Annotated[Path, typer.Argument(help="Baseline record JSON.")],
    b: Annotated[Path, typer.Argument(help="Record to compare with the baseline.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Two records side by side: B - A per metric and whether the delta is significant."""
    from frugalstack.edge.cli.output import console, print_json
    from frugalstack.edge.evaluation import record as rec

    ra, rb = rec.load(a), rec.load(b)
    rows = rec.compare(ra, rb)
    if json_out:
        print_json({"a": str(a), "b": str(b), "rows": rows})
        return
    # plain aligned lines, not a table: metric names stay whole in logs and narrow terminals
    console.print(f"A = {ra['model']['id']} ({ra['suite']['name']}@{ra['suite']['version']})   "
                  f"B = {rb['model']['id']} ({rb['suite']['name']}@{rb['suite']['version']})", highlight=False)
    width = max(len(r["metric"]) for r in rows) if rows else 6
    console.print(f"{'metric':<{width}}  {'A':>8}  {'B':>8}  {'B - A [95% CI]':<28}  significant", highlight=False)
    for r in rows:
        ci = "" if r["ci"][0] is None else f" [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}]"
        delta = "" if r["delta"] is None else f"{r['delta']:+.4g}{ci}"
        sig = {True: "yes (B worse)" if r["b_worse"] else "yes (B better)", False: "no", None: "-"}[r["significant"]]
        console.print(f"{r['metric']:<{width}}  {_num(r['a']):>8}  {_num(r['b']):>8}  {delta:<28}  {sig}"
                      f"  ({r['method']})", highlight=False, soft_wrap=True)


def _num(v: float | None) -> str:
    return "missing" if v is None else f"{v:.4g}"
