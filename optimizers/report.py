"""Writing the optimize results: manifest.json, report.json, report.md, report.png and a terminal table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = [("format", "format"), ("status", "status"), ("MB", "mb"), ("ppl", "perplexity"), ("Δppl", "dppl"),
           ("agree", "greedy_agreement"), ("RSS MB", "peak_rss_mb"), ("TTFT ms", "ttft_ms"), ("tok/s", "decode_tok_s")]


def _cells(row: dict[str, Any]) -> list[str]:
    m = row.get("metrics", {})
    values = {
        "format": row["format"],
        "status": row.get("status", "?"),
        "mb": f"{row['bytes'] / 2**20:.1f}" if "bytes" in row else "-",
        "perplexity": f"{m['perplexity']:.3f}" if "perplexity" in m else "-",
        "dppl": f"{100 * m['ppl_increase']:+.1f}%" if "ppl_increase" in m else "-",
        "greedy_agreement": f"{100 * m['greedy_agreement']:.1f}%" if "greedy_agreement" in m else "-",
        "peak_rss_mb": f"{m['peak_rss_mb']:.0f}" if "peak_rss_mb" in m else "-",
        "ttft_ms": f"{m['ttft_ms']:.0f}" if m.get("ttft_ms") is not None else "-",
        "decode_tok_s": f"{m['decode_tok_s']:.1f}" if m.get("decode_tok_s") is not None else "-",
    }
    return [values[key] for _, key in COLUMNS]


def manifest(report: dict[str, Any]) -> dict[str, Any]:
    """What deployment needs: each artifact's format, quantization, hash, size, status and key metrics."""
    keep = ("format", "family", "quantization", "path", "sha256", "bytes", "status", "reason")
    arts = []
    for row in report["artifacts"]:
        art = {k: row[k] for k in keep if k in row}
        m = row.get("metrics", {})
        art["metrics"] = {k: m.get(k) for k in ("perplexity", "ppl_increase", "greedy_agreement", "peak_rss_mb",
                                                 "ttft_ms", "decode_tok_s") if k in m}
        arts.append(art)
    return {"model": report["model"], "source_sha256": report["source"]["sha256"],
            "checkpoint_sha256": report["checkpoint"]["sha256"], "quality_gate": report["quality_gate"],
            "tools": report["tools"], "created": report["created"], "artifacts": arts}


def markdown(report: dict[str, Any]) -> str:
    gate = report["quality_gate"]
    lines = [f"# Optimize report: {report['model']}", "",
             f"Source sha256 `{report['source']['sha256'][:16]}…`, fp32 checkpoint sha256 "
             f"`{report['checkpoint']['sha256'][:16]}…`. Held-out text: {report['eval']['tokens']} tokens; "
             f"{report['eval']['threads']} threads; speed = 32 greedy tokens after a fixed prompt "
             "(second of two runs).",
             f"Quality gate: perplexity at most {100 * gate['max_perplexity_increase']:.0f}% over "
             f"{gate['reference']} ({gate['reference_perplexity']}).", "",
             "| " + " | ".join(h for h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in report["artifacts"]]
    notes = [f"- **{r['format']}** ({r['status']}): {r['reason']}" for r in report["artifacts"] if r.get("reason")]
    if notes:
        lines += ["", "## Skipped, failed and rejected", "", *notes]
    lines += ["", "## Tools", "", ", ".join(f"{k} {v}" for k, v in report["tools"].items() if v), ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> bool:
    """Quality vs size, marker area = decode speed. Returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in report["artifacts"] if "metrics" in r and "bytes" in r]
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {"accepted": "tab:green", "rejected": "tab:red"}
    for i, r in enumerate(rows):
        m = r["metrics"]
        speed = m.get("decode_tok_s") or 1.0
        ax.scatter(r["bytes"] / 2**20, m["perplexity"], s=20 + 6 * speed, alpha=0.6,
                   color=colors.get(r.get("status", ""), "tab:gray"))
        ax.annotate(f"{r['format']}\n{speed:.0f} tok/s", (r["bytes"] / 2**20, m["perplexity"]), fontsize=7,
                    xytext=(6, -14 + 14 * (i % 3)), textcoords="offset points")  # staggered: neighbours overlap
    ref = report["quality_gate"]["reference_perplexity"]
    if ref:
        ax.axhline(ref * (1 + report["quality_gate"]["max_perplexity_increase"]), ls="--", color="tab:red", lw=0.8,
                   label="quality gate")
        ax.legend(loc="upper right")
    ax.set_xscale("log")
    ax.set_xlabel("artifact size (MB, log)")
    ax.set_ylabel("perplexity on held-out text (lower is better)")
    ax.set_title(f"{report['model']}: quality vs size (marker area = decode tok/s)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_reports(report: dict[str, Any], out: Path) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "manifest.json").write_text(json.dumps(manifest(report), indent=2))
    (out / "report.md").write_text(markdown(report))
    plot(report, out / "report.png")


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"frugal optimize: {report['model']}")
    for header, _ in COLUMNS:
        table.add_column(header)
    for row in report["artifacts"]:
        table.add_row(*_cells(row))
    console = Console()
    console.print(table)
    for row in report["artifacts"]:
        if row.get("reason"):
            console.print(f"{row['format']} {row['status']}: {row['reason']}", highlight=False, markup=False)
