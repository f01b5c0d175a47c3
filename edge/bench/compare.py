"""``frugal bench compare A B``: two runs side by side, matched cell by cell, as ratios B/A."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from frugalstack.edge.bench.report import rows
from frugalstack.shared.errors import ConfigError

METRICS = [
    ("ttft_ms_p50", "TTFT p50", False),
    ("decode_tok_s_median", "decode tok/s", True),
    ("latency_ms_p95", "latency p95", False),
    ("peak_rss_mb", "peak RSS", False),
    ("wh_per_1k_tokens", "Wh/1k tok", False),
]


def load(path: Path) -> dict[str, Any]:
    p = path / "results.json" if path.is_dir() else path
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read benchmark results {p}: {exc}") from exc


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    key = lambda r: (r["model"], r["profile"], r["workload"])  # noqa: E731
    left = {key(r): r for r in rows(a) if "error" not in r}
    out = []
    for r in rows(b):
        if "error" in r or key(r) not in left:
            continue
        base = left[key(r)]
        entry: dict[str, Any] = {"model": r["model"], "profile": r["profile"], "workload": r["workload"]}
        for m, _, _ in METRICS:
            entry[m] = (base.get(m), r.get(m), r[m] / base[m] if base.get(m) and r.get(m) is not None else None)
        out.append(entry)
    return out


def print_comparison(a_path: Path, b_path: Path) -> list[dict[str, Any]]:
    result = compare(load(a_path), load(b_path))
    t = Table(title=f"B/A: {b_path} vs {a_path}")
    for col in ("model", "profile", "workload", *[label for _, label, _ in METRICS]):
        t.add_column(col, justify="right")
    for e in result:
        cells = []
        for m, _, higher_better in METRICS:
            _, _, ratio = e[m]
            if ratio is None:
                cells.append("-")
                continue
            better = ratio > 1 if higher_better else ratio < 1
            colour = "green" if better else "red" if abs(ratio - 1) > 0.05 else "white"
            cells.append(f"[{colour}]{ratio:.3f}[/{colour}]")
        t.add_row(e["model"], e["profile"], e["workload"], *cells)
    Console().print(t)
    if not result:
        Console().print("no cells in common (same model label, profile and workload)")
    return result
