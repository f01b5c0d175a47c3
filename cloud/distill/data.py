"""Rows -> task examples and splits. Rows come from the shipped sample, a JSONL file or a registered dataset
version; a malformed row is reported (line and reason) and skipped, never fatal."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.config import DistillConfig
from frugalstack.cloud.distill.tasks import TASKS, Example, gold_attributes
from frugalstack.shared.errors import ConfigError, ValidationError
from frugalstack.shared.jsonl import json_object


def sample_rows() -> list[dict[str, Any]]:
    """The sample queries (intent) and catalogue descriptions (extraction) as one task-tagged row list."""
    from frugalstack.edge.sampledata import PRODUCTS_FILE, QUERIES_DEV, QUERIES_TEST

    rows: list[dict[str, Any]] = []
    for path in (QUERIES_DEV, QUERIES_TEST):
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            rows.append({"task": "intent", "id": q["id"], "text": q["query"], "label": q["intent"]})
    with gzip.open(PRODUCTS_FILE, "rt", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            rows.append({"task": "extraction", "id": p["id"], "text": p["description"],
                         "attributes": gold_attributes(p["description"], p["attributes"])})
    return rows


def write_sample_jsonl(path: Path) -> Path:
    """The sample as a JSONL file, ready to upload as a dataset version."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in sample_rows()), encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass
class Loaded:
    examples: dict[str, list[Example]]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    dataset_version_id: str | None = None


def _parse_lines(lines: list[bytes]) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[dict[str, Any]] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            good.append((n, json_object(raw)))
        except ValueError as exc:
            bad.append({"line": n, "reason": str(exc)})
    return good, bad


def fetch_dataset_version(url: str, key: str | None, version_id: str, dest: Path) -> Path:
    """Download a dataset version's content (checked against its content hash) into ``dest``."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120) as c:
        r = c.get(f"/v1/dataset-versions/{version_id}/content")
        if r.status_code != 200:
            raise ValidationError(f"could not fetch dataset version {version_id}: HTTP {r.status_code} {r.text[:200]}")
    digest = hashlib.sha256(r.content).hexdigest()
    if r.headers.get("X-Content-SHA256") and r.headers["X-Content-SHA256"] != digest:
        raise ValidationError(f"dataset version {version_id} arrived corrupted (sha256 mismatch)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_bytes(r.content)
    tmp.replace(dest)
    return dest


def load_examples(cfg: DistillConfig, workdir: Path) -> Loaded:
    """Task examples for every configured task, plus the report of skipped rows."""
    source = cfg.data.source
    if source == "sample":
        lines = [json.dumps(r).encode() for r in sample_rows()]
        where = "sample"
    else:
        if source == "file":
            assert cfg.data.path is not None
            path = cfg.data.path.expanduser()
        else:
            if not cfg.cloud.url:
                raise ConfigError("data.source=dataset_version needs cloud.url")
            path = fetch_dataset_version(cfg.cloud.url, os.environ.get(cfg.cloud.api_key_env),
                                         str(cfg.data.dataset_version_id), workdir / "data" / "rows.jsonl")
        if not path.is_file():
            raise ConfigError(f"no dataset file at {path}")
        lines = path.read_bytes().splitlines()
        where = str(path)
    good, skipped = _parse_lines(lines)
    examples: dict[str, list[Example]] = {t: [] for t in cfg.tasks}
    seen: set[tuple[str, str]] = set()
    for n, row in good:
        task = row.get("task")
        if task not in TASKS:
            skipped.append({"line": n, "reason": f"unknown task {task!r}"})
            continue
        if task not in examples:
            continue
        try:
            ex = TASKS[task].example(row)
        except ValueError as exc:
            skipped.append({"line": n, "reason": str(exc)})
            continue
        if (task, ex.id) in seen:
            skipped.append({"line": n, "reason": f"duplicate id {ex.id!r}"})
            continue
        seen.add((task, ex.id))
        examples[task].append(ex)
    for task, exs in examples.items():
        exs.sort(key=lambda e: _h(cfg.seed, e.id))  # a seeded shuffle that does not depend on row order
        if cfg.data.limit_per_task:
            del exs[cfg.data.limit_per_task:]
        if len(exs) < 4:
            raise ValidationError(f"task {task!r} has {len(exs)} usable rows; at least 4 are needed",
                                  details={"skipped": skipped[:20]})
    return Loaded(examples, skipped, where, cfg.data.dataset_version_id)


def _h(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split(examples: list[Example], dev: float, test: float) -> dict[str, list[Example]]:
    """train/dev/test by position in the seeded order (so the same config always gives the same split)."""
    n = len(examples)
    n_test = max(1, round(n * test))
    n_dev = max(1, round(n * dev))
    return {"test": examples[:n_test], "dev": examples[n_test:n_test + n_dev], "train": examples[n_test + n_dev:]}
