"""Write the demo's report: report.md, report.html (same content), PNG plots and summary.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from frugalstack.cloud.demo.device import DeviceResult


def _plots(out: Path, s: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = ["edge_only", "hybrid", "cloud_only"]
    labels = ["edge-only", "hybrid", "cloud-only"]
    charts = [("cost_per_1k.png", [s["cost_per_1k"][a] for a in arms], f"cost per 1,000 requests "
               f"({s['cost_per_1k']['currency']})"),
              ("energy_per_1k.png", [s["energy_wh_per_1k_estimate"][a] for a in arms],
               "energy per 1,000 requests (Wh, ESTIMATE from CPU time)"),
              ("quality.png", [s["quality"][a] for a in arms], "quality: fact score vs ground truth")]
    names = []
    for name, values, title in charts:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        bars = ax.bar(labels, values, color=["#2a9d8f", "#e9c46a", "#e76f51"])
        ax.bar_label(bars, fmt="%.3g")
        ax.margins(y=0.18)
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)
    fig, ax = plt.subplots(figsize=(4, 3.2))
    ax.pie([s["edge_share"], s["cloud_share"]], labels=["answered on device", "escalated to cloud"],
           autopct="%.0f%%", colors=["#2a9d8f", "#e76f51"])
    ax.set_title("where requests were answered", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "share.png", dpi=110)
    plt.close(fig)
    return ["share.png", *names]


def _fmt(x: Any, nd: int = 3) -> str:
    if isinstance(x, float):
        return f"{x:.{nd}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return "-" if x is None else str(x)


def markdown(s: dict[str, Any], devices: list[DeviceResult], ctx: dict[str, Any], plots: list[str]) -> str:
    q, c, e, fl = s["quality"], s["cost_per_1k"], s["energy_wh_per_1k_estimate"], ctx["federated"]
    lines = [
        "# frugalstack demo report", "",
        f"Dashboard: {ctx['dashboard']}" + ("" if ctx.get("serving") else " (served only while `--keep-serving` runs)"),
        f"Cloud: {ctx['cloud']} (database {ctx['dialect']}); gateway model: **{ctx['gateway_model']}** "
        "(the same SmolLM2 the devices run, in-process on 1 thread, given the bare question: no larger model is "
        "available offline, so here the cloud is no better than the device; point the gateway at a provider).",
        f"Wall time: {ctx['wall_s']:.0f} s on this machine.", "",
        "## Headline", "",
        "| | edge-only | hybrid (routed) | cloud-only |", "|---|---:|---:|---:|",
        f"| quality (fact score) | {_fmt(q['edge_only'])} | {_fmt(q['hybrid'])} | {_fmt(q['cloud_only'])} |",
        f"| cost per 1,000 requests ({c['currency']}) | {_fmt(c['edge_only'])} | {_fmt(c['hybrid'])} | "
        f"{_fmt(c['cloud_only'])} |",
        f"| energy per 1,000 requests (Wh, estimate) | {_fmt(e['edge_only'])} | {_fmt(e['hybrid'])} | "
        f"{_fmt(e['cloud_only'])} |", "",
        f"{s['requests']} requests on {s['devices']} devices: **{s['edge_share']:.0%} answered on the device**, "
        f"{s['cloud_share']:.0%} escalated to the cloud gateway. Median latency: hybrid "
        f"{s['latency_ms']['hybrid_median']:.0f} ms, cloud-only {s['latency_ms']['cloud_only_median']:.0f} ms.", "",
        f"Cost: {c['method']}. Energy: {e['method']}; the cloud arm's energy is this gateway's small model, a "
        "hosted large model costs far more per request.", "",
        "## Guardrails, feedback, routing", "",
        f"- input rail verdicts: {s['guard']['input']}; output rail verdicts: {s['guard']['output']}",
        f"- feedback (simulated from the ground truth): {s['feedback']['thumbs_up']} up, "
        f"{s['feedback']['thumbs_down']} down; {s['feedback']['with_consent']} from users who consented (stored "
        f"with their trace), {s['feedback']['counters_only_no_consent']} without consent (per-day counters only)",
        f"- top routing reasons: {s['route_reasons']}", "",
        f"## Federated round ({fl['task']} head)", "",
        f"{fl['clients']} simulated devices, {fl['rounds']} round(s), clip {fl['clip']}, noise multiplier "
        f"{fl['noise_multiplier']}: ε = {_fmt(fl['epsilon'])} per device (local DP; "
        f"{_fmt(fl.get('epsilon_central'))} for the aggregate) at δ = {fl['delta']}. Held-out before → after: "
        f"{_fmt_metrics(fl['before'])} → {_fmt_metrics(fl['after'])} (centralized: "
        f"{_fmt_metrics(fl['centralized'])}). Registered as version `{fl['registered'].get('version', '-')}`; "
        + (f"deployed: the devices' manifests now carry router version {ctx['router_after']}. "
           if fl.get("deployed") else
           "**not deployed**: it is no better than before on the held-out pairs (AUC and macro-F1; one noised round "
           "of 10 small devices hurts on some seeds), so it stays a candidate and the devices keep router version "
           f"{ctx['router_after']}. ") + fl.get("note", ""), "",
        "## Distillation", "", _distill(ctx["distill"]), "",
        "## Devices", "", "| device | profile | OTA | answers | edge share | ingested | telemetry | seconds |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for d in devices:
        share = sum(a.answered_by == "edge" for a in d.answers) / max(1, len(d.answers))
        lines.append(f"| {d.name} | {d.profile} | {d.ota} | {len(d.answers)} | {share:.0%} | {d.ingested} | "
                     f"{d.telemetry.get('records', 0)} traces, {d.telemetry.get('batches', 0)} batch(es) acknowledged, "
                     f"{d.telemetry.get('pending', 0)} pending | "
                     f"{d.seconds.get('total', 0):.0f} |")
    lines += ["", "## Sampled answers", "", "| device | question | answered by | score | answer |",
              "|---|---|---|---:|---|"]
    for a in ctx["samples"]:
        cell = a.answer.replace("|", "/").replace("\n", " ")[:160]
        lines.append(f"| {a.device} | {a.question.replace('|', '/')} | {a.answered_by} | {a.score:.2f} | {cell} |")
    lines += ["", "## Governance records", ""] + [f"- {k}: [{v}]({v})" for k, v in ctx["files"].items()]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def _fmt_metrics(m: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in m.items() if isinstance(v, int | float)) or "-"


def _distill(d: dict[str, Any]) -> str:
    if d.get("ran"):
        return f"A tiny distillation run finished: {json.dumps(d['result'], default=str)[:600]}"
    last = d.get("last_run")
    head = f"No distillation run in the demo ({d.get('note', 'too slow for it')}). "
    if last:
        head += f"Last registered run: `{last['id']}` ({last['kind']}), metrics {json.dumps(last['metrics'])[:300]}. "
    else:
        head += "No distillation run is registered yet. "
    return head + f"Start one with {d['howto']}."


def to_html(md: str) -> str:
    """A dependency-free rendering of the report's Markdown subset: headings, tables, lists, images, links."""
    out, in_table = ["<!doctype html><meta charset='utf-8'><title>frugalstack demo report</title>",
                     "<style>body{font:15px system-ui;max-width:980px;margin:2em auto}td,th{border:1px solid #ccc;"
                     "padding:3px 6px}table{border-collapse:collapse}</style>"], False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-:"):
                continue
            out.append(("<table>" if not in_table else "") + "<tr>" + "".join(
                f"<td>{html.escape(c).replace('**', '')}</td>" for c in cells) + "</tr>")
            in_table = True
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.startswith("![") and "](" in line:
            src = line.split("](", 1)[1].rstrip(")")
            out.append(f"<p><img src='{html.escape(src)}' alt='{html.escape(src)}'></p>")
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out) + "\n"


def write(out: Path, s: dict[str, Any], devices: list[DeviceResult], ctx: dict[str, Any]) -> dict[str, Path]:
    """All report files, each written atomically."""
    plots = _plots(out, s)
    md = markdown(s, devices, ctx, plots)
    files = {"md": out / "report.md", "html": out / "report.html", "json": out / "summary.json"}
    public = {"summary": s, "federated": ctx["federated"], "distill": ctx["distill"], "dashboard": ctx["dashboard"],
              "wall_s": ctx["wall_s"], "devices": [{"name": d.name, "profile": d.profile, "seconds": d.seconds,
                                                    "telemetry": d.telemetry} for d in devices]}
    for key, text in (("md", md), ("html", to_html(md)), ("json", json.dumps(public, indent=2, default=str))):
        tmp = files[key].with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(files[key])
    return files
