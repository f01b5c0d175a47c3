"""Turn results.json into a terminal table, report.md, report.html and PNG plots."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _f(x: Any, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for c in results["cells"]:
        spec = c["spec"]
        base = {"model": spec.get("model_label"), "profile": spec.get("profile"), "workload": spec.get("workload")}
        if not c.get("ok"):
            out.append({**base, "error": c.get("error")})
            continue
        out.append({**base, **c["summary"]})
    return out


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title=f"frugal bench: {results['suite']['name']}")
    for col in ("model", "profile", "workload", "TTFT p50/p95 ms", "decode tok/s (IQR%)", "prefill tok/s",
                "lat p95 ms", "RSS MB", "Wh/1k tok", "cost/1k req edge|hybrid|cloud"):
        t.add_column(col, justify="right")
    for r in rows(results):
        if "error" in r:
            t.add_row(r["model"], r["profile"], r["workload"], f"[red]failed: {r['error']}[/red]", *[""] * 6)
            continue
        warn = " [yellow]unstable[/yellow]" if r["unstable"] else ""
        c = r["cost"]
        t.add_row(r["model"], r["profile"], r["workload"], f"{r['ttft_ms_p50']:.0f}/{r['ttft_ms_p95']:.0f}",
                  f"{r['decode_tok_s_median']:.1f} ({r['decode_spread_pct']:.0f}%){warn}",
                  _f(r["prefill_tok_s_median"], ".0f"), f"{r['latency_ms_p95']:.0f}", f"{r['peak_rss_mb']:.0f}",
                  _f(r["wh_per_1k_tokens"], ".3f"),
                  f"{_f(c['edge_per_1k'], '.4f')} | {_f(c['hybrid_per_1k'], '.4f')} | {_f(c['cloud_per_1k'], '.4f')}")
    console.print(t)
    for r in rows(results):
        if r.get("unstable"):
            console.print(f"[yellow]warning[/yellow]: {r['model']}/{r['workload']} decode spread "
                          f"{r['decode_spread_pct']:.0f}% is over the suite's bound; rerun on a quieter machine")


def _rotate(ax: Any) -> None:
    """Slanted, right-aligned tick labels: model names are long."""
    ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def plots(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows(results) if "error" not in r]
    if not ok:
        return []
    labels = [f"{r['model']}\n{r['workload']}" for r in ok]
    made = []

    fig, ax = plt.subplots(figsize=(max(6, len(ok) * 1.2), 4))
    med = [r["decode_tok_s_median"] for r in ok]
    err = [[m - (r["decode_tok_s_p25"] or m) for m, r in zip(med, ok, strict=True)],
           [(r["decode_tok_s_p75"] or m) - m for m, r in zip(med, ok, strict=True)]]
    ax.bar(labels, med, yerr=err, capsize=4, color="#4C72B0")
    ax.set_ylabel("decode tokens/s (median, IQR)")
    ax.set_title("Decode speed per model/quantization (measured on this host)")
    _rotate(ax)
    fig.tight_layout()
    made.append(out / "decode_tok_s.png")
    fig.savefig(made[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6, len(ok) * 1.2), 4))
    ax.bar(labels, [r["wh_per_1k_tokens"] or 0 for r in ok], color="#55A868", label="codecarbon")
    ax.plot(labels, [r["cpu_wh_per_1k_tokens_independent"] or 0 for r in ok], "kD", label="CPU-time x CCF W (CPU only)")
    ax.set_ylabel("Wh per 1,000 generated tokens")
    ax.set_title("Energy per 1k tokens (estimates; method in report)")
    ax.legend(fontsize=8)
    _rotate(ax)
    fig.tight_layout()
    made.append(out / "energy_per_1k_tokens.png")
    fig.savefig(made[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6, len(ok) * 1.5), 4))
    import numpy as np

    x = np.arange(len(ok))
    for i, (key, name) in enumerate([("edge_per_1k", "edge-only"), ("hybrid_per_1k", "hybrid"),
                                     ("cloud_per_1k", "cloud-only")]):
        ax.bar(x + (i - 1) * 0.27, [r["cost"][key] or 0 for r in ok], 0.27, label=name)
    ax.set_xticks(x, labels)
    _rotate(ax)
    ax.set_yscale("log")
    ax.set_ylabel(f"cost per 1,000 requests ({ok[0]['cost']['currency']}, log)")
    ax.set_title("Cost per 1k requests: edge vs hybrid vs cloud")
    ax.legend(fontsize=8)
    fig.tight_layout()
    made.append(out / "cost_per_1k_requests.png")
    fig.savefig(made[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for r in ok:
        if r.get("quality_vs_reference") is None or r.get("wh_per_1k_tokens") is None:
            continue
        ax.scatter(r["wh_per_1k_tokens"], r["quality_vs_reference"], s=60)
        ax.annotate(f"{r['model']}\n{r['workload']}", (r["wh_per_1k_tokens"], r["quality_vs_reference"]), fontsize=7)
    ax.set_xlabel("Wh per 1,000 generated tokens (estimate)")
    ax.set_ylabel(f"quality proxy vs {ok[0].get('quality_reference')}")
    ax.set_title("Quality vs energy cost")
    fig.tight_layout()
    made.append(out / "quality_vs_cost.png")
    fig.savefig(made[-1], dpi=110)
    plt.close(fig)

    proj = [(r["model"], p) for r in ok for p in r.get("projections", [])]
    if proj:
        fig, ax = plt.subplots(figsize=(8, 4))
        profiles = sorted({p["profile"] for _, p in proj})
        models = sorted({m for m, _ in proj})
        x = np.arange(len(profiles))
        width = 0.8 / max(1, len(models))
        for i, m in enumerate(models):
            vals = {p["profile"]: p["decode_tok_s"] for mm, p in proj if mm == m}
            ax.bar(x + i * width, [vals.get(p, 0) for p in profiles], width, label=m)
        ax.set_xticks(x + width * (len(models) - 1) / 2, profiles, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("projected decode tokens/s")
        ax.set_title("PROJECTED decode speed per device profile (not measured)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        made.append(out / "projected_decode_per_profile.png")
        fig.savefig(made[-1], dpi=110)
        plt.close(fig)
    return made


def markdown(results: dict[str, Any], images: list[Path]) -> str:
    env = results["environment"]
    lines = [f"# frugal bench: {results['suite']['name']}", "",
             f"Run {env['started_at']} on `{env['cpu_model']}` ({env['usable_cpus']} usable CPUs, governor "
             f"{env['governor']}, load average at start {env['load_average_at_start']}), commit "
             f"`{env['git_commit']}`, seed {env['seed']}.", "",
             "| model | profile | workload | TTFT p50 ms | TTFT p95 ms | decode tok/s median (IQR %) | prefill tok/s | "
             "latency p95 ms | peak RSS MB | Wh/1k tokens | CPU Wh/1k (independent) | codecarbon/independent | "
             "gCO2e/1k req | edge/1k | hybrid/1k | cloud/1k |",
             "|" + "---|" * 16]
    for r in rows(results):
        if "error" in r:
            lines.append(f"| {r['model']} | {r['profile']} | {r['workload']} | failed: {r['error']} |" + " |" * 12)
            continue
        c = r["cost"]
        flag = " ⚠ unstable" if r["unstable"] else ""
        lines.append(
            f"| {r['model']} | {r['profile']} | {r['workload']} | {r['ttft_ms_p50']:.0f} | {r['ttft_ms_p95']:.0f} | "
            f"{r['decode_tok_s_median']:.1f} ({r['decode_spread_pct']:.0f}){flag} | "
            f"{_f(r['prefill_tok_s_median'], '.0f')} | "
            f"{r['latency_ms_p95']:.0f} | {r['peak_rss_mb']:.0f} | {_f(r['wh_per_1k_tokens'], '.3f')} | "
            f"{_f(r['cpu_wh_per_1k_tokens_independent'], '.3f')} | {_f(r['codecarbon_vs_independent_cpu'], '.2f')} | "
            f"{_f(r['g_co2e_per_1k_requests'], '.2f')} | {_f(c['edge_per_1k'], '.4f')} | "
            f"{_f(c['hybrid_per_1k'], '.4f')} ({c['hybrid_cloud_share']:.0%} cloud) | {_f(c['cloud_per_1k'], '.4f')} |")
    ok = [r for r in rows(results) if "error" not in r]
    if ok:
        lines += ["", "## Methods", "", f"- energy: {ok[0]['energy_method']}",
                  f"- independent energy cross-check: {ok[0]['independent_method']}",
                  f"- cost: {ok[0]['cost']['method']}",
                  *[f"- hybrid share, {r['model']} / {r['workload']}: {r['cost']['hybrid_share_method']}"
                    for r in ok if r["cost"].get("hybrid_share_method")],
                  f"- quality: {ok[0].get('quality_method')} (reference: {ok[0].get('quality_reference')})",
                  f"- carbon: grid intensity {_f(results['grid']['g_co2_per_kwh'], '.0f')} gCO2e/kWh "
                  f"({results['grid']['source']})",
                  "- projections: decode scales with memory bandwidth, prefill with relative compute "
                  f"(host probe: {env['host_probe']['memory_bandwidth_gbs']:.1f} GB/s copy, "
                  f"{env['host_probe']['gflops']:.0f} GFLOP/s fp32)"]
        proj = [(r["model"], p) for r in ok for p in r.get("projections", [])]
        if proj:
            lines += ["", "## Projections to device profiles (NOT measured)", "",
                      "| model | profile | decode tok/s | prefill tok/s | J/token |", "|---|---|---|---|---|"]
            lines += [f"| {m} | {p['profile']} | {p['decode_tok_s']:.1f} | {_f(p['prefill_tok_s'], '.0f')} | "
                      f"{_f(p['joules_per_token'], '.3f')} |" for m, p in proj]
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in images]
    lines += ["", "## Versions", "", "```json", json.dumps(env["versions"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def write_reports(results: dict[str, Any], out: Path) -> dict[str, Path]:
    images = plots(results, out)
    md = markdown(results, images)
    (out / "report.md").write_text(md, encoding="utf-8")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>frugal bench</title><style>{style}"
            f"</style></head><body>{md_to_html(md)}</body></html>")
    (out / "report.html").write_text(page, encoding="utf-8")
    return {"md": out / "report.md", "html": out / "report.html"}


def md_to_html(md: str) -> str:
    """Just enough Markdown for our own reports: headings, tables, images, code blocks, paragraphs."""
    out: list[str] = []
    table: list[str] = []
    in_code = False

    def flush() -> None:
        if not table:
            return
        out.append("<table>")
        for i, line in enumerate(t for t in table if not set(t.replace("|", "").strip()) <= {"-"}):
            tag = "th" if i == 0 else "td"
            cells = "".join(f"<{tag}>{html.escape(c.strip())}</{tag}>" for c in line.strip().strip("|").split("|"))
            out.append(f"<tr>{cells}</tr>")
        out.append("</table>")
        table.clear()

    for line in md.splitlines():
        if line.startswith("```"):
            flush()
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
        elif in_code:
            out.append(html.escape(line))
        elif line.startswith("|"):
            table.append(line)
        else:
            flush()
            if line.startswith("#"):
                level = len(line) - len(line.lstrip("#"))
                out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
            elif line.startswith("!["):
                alt, src = line[2:].split("](", 1)
                out.append(f'<figure><img src="{html.escape(src.rstrip(")"))}" alt="{html.escape(alt)}"></figure>')
            elif line.strip():
                out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)
