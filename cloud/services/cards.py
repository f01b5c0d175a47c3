"""Auto-generated model cards and data cards (JSON plus a readable Markdown rendering)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.tables_data import Dataset, DatasetVersion, UseCase
from frugalstack.cloud.db.tables_registry import Artifact, Evaluation, Model, ModelVersion, Run
from frugalstack.cloud.services import crud


def model_card(session: Session, mv_id: str) -> dict[str, Any]:
    mv = crud.get_or_404(session, ModelVersion, mv_id, "model version")
    model = crud.get_or_404(session, Model, mv.model_id, "model")
    use_case = session.get(UseCase, model.use_case_id) if model.use_case_id else None
    run = session.get(Run, mv.run_id) if mv.run_id else None
    data: list[dict[str, Any]] = []
    for dv_id in run.dataset_version_ids if run else []:
        dv = session.get(DatasetVersion, dv_id)
        ds = session.get(Dataset, dv.dataset_id) if dv else None
        if dv and ds:
            data.append({"dataset": ds.name, "version": dv.version, "sha256": dv.content_hash, "rows": dv.row_count,
                         "license": ds.license, "pii_status": ds.pii_status})
    evals = [{"suite": e.suite, "metrics": e.metrics, "thresholds": e.thresholds, "passed": e.passed}
             for e in session.scalars(select(Evaluation).where(Evaluation.model_version_id == mv.id))]
    arts = [{"filename": a.filename, "format": a.format, "quantization": a.quantization, "sha256": a.sha256,
             "size_bytes": a.size_bytes, "profiles": a.profiles}
            for a in session.scalars(select(Artifact).where(Artifact.model_version_id == mv.id))]
    card: dict[str, Any] = {
        "model": model.name, "version": mv.version, "stage": mv.stage, "base_model": mv.base_model,
        "intended_use": model.intended_use or "not stated", "limitations": model.limitations or "not stated",
        "eu_ai_act_risk_class": use_case.risk_class if use_case else "unclassified",
        "use_case": use_case.name if use_case else None,
        "training_run": {"id": run.id, "kind": run.kind, "params": run.params} if run else None,
        "data_lineage": data, "evaluations": evals, "quantization_losses": mv.quantization_losses,
        "energy": mv.energy, "artifacts": arts,
    }
    card["markdown"] = _model_markdown(card)
    return card


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "_none recorded_\n"
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    return head + "".join("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |\n" for r in rows)


def _model_markdown(c: dict[str, Any]) -> str:
    kv = lambda d: "\n".join(f"- {k}: {v}" for k, v in d.items()) or "_none recorded_"  # noqa: E731
    return (
        f"# Model card: {c['model']} {c['version']}\n\nStage: **{c['stage']}** · base model: {c['base_model'] or '-'}"
        f" · EU AI Act risk class: **{c['eu_ai_act_risk_class']}**\n\n## Intended use\n{c['intended_use']}\n\n"
        f"## Limitations\n{c['limitations']}\n\n## Data lineage\n"
        + _table(c["data_lineage"], ["dataset", "version", "rows", "license", "pii_status", "sha256"])
        + "\n## Evaluation\n" + _table(c["evaluations"], ["suite", "metrics", "thresholds", "passed"])
        + f"\n## Quantization losses\n{kv(c['quantization_losses'])}\n\n## Energy (estimates)\n{kv(c['energy'])}\n\n"
        + "## Artifacts\n" + _table(c["artifacts"], ["filename", "format", "quantization", "size_bytes", "sha256"])
    )


def data_card(session: Session, dv_id: str) -> dict[str, Any]:
    dv = crud.get_or_404(session, DatasetVersion, dv_id, "dataset version")
    ds = crud.get_or_404(session, Dataset, dv.dataset_id, "dataset")
    runs = [r.id for r in session.scalars(select(Run)) if dv.id in (r.dataset_version_ids or [])]
    md = (
        f"# Data card: {ds.name} v{dv.version}\n\n{ds.description}\n\n- source: {ds.source or 'not stated'}\n"
        f"- licence: {ds.license or 'not stated'}\n- PII status: {ds.pii_status}\n"
        f"- retention: {str(ds.retention_days) + ' days' if ds.retention_days else 'not set'}\n"
        f"- format: {dv.format}, {dv.row_count} rows, {dv.size_bytes} bytes\n- sha256: {dv.content_hash}\n\n"
        "## Columns\n" + "".join(f"- {k}: {v}\n" for k, v in dv.schema_.items())
        + f"\n## Used by runs\n{', '.join(runs) or '_none_'}\n"
    )
    return {"dataset": ds, "version": dv, "columns": dv.schema_, "used_by_runs": runs, "markdown": md}
