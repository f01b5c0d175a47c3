"""Governance: retention enforcement, deletion requests that reach devices, and the auditors' export."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import utcnow
from frugalstack.cloud.db.tables_data import Dataset, DeletionRequest, RetentionPolicy, UseCase
from frugalstack.cloud.db.tables_ops import DailyAggregate, DriftAlert, TelemetryBatch, UsageRecord
from frugalstack.cloud.db.tables_registry import Model, ModelVersion
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.services import audit, crud
from frugalstack.shared.errors import NotFoundError


def set_retention(session: Session, actor: Any, resource: str, days: int) -> RetentionPolicy:
    from frugalstack.cloud.db.base import new_id

    row = session.scalars(select(RetentionPolicy).where(RetentionPolicy.resource == resource)).first()
    if row is None:
        return crud.create(session, actor, RetentionPolicy(id=new_id(), resource=resource, days=days),
                           "retention_policy")
    return crud.update(session, actor, row, "retention_policy", {"days": days})


def _count(session: Session, stmt: Any) -> int:
    result: Any = session.execute(stmt)
    return int(result.rowcount or 0)


def apply_retention(session: Session, actor: Any) -> dict[str, int]:
    """Delete what is older than each policy allows; returns rows deleted per table."""
    now = utcnow()
    deleted: dict[str, int] = {}
    for p in session.scalars(select(RetentionPolicy)):
        cutoff = now - timedelta(days=p.days)
        if p.resource == "telemetry":
            deleted["daily_aggregates"] = _count(session,
                delete(DailyAggregate).where(DailyAggregate.day < cutoff.date()))
            deleted["telemetry_batches"] = _count(session,
                delete(TelemetryBatch).where(TelemetryBatch.received_at < cutoff))
        elif p.resource == "usage":
            deleted["usage_records"] = _count(session,
                delete(UsageRecord).where(UsageRecord.day < cutoff.date()))
        elif p.resource == "drift_alerts":
            deleted["drift_alerts"] = _count(session,
                delete(DriftAlert).where(DriftAlert.day < cutoff.date()))
    audit.record(session, actor, "retention.apply", "retention", "all", None, None, {"deleted": deleted})
    return deleted


def ack_deletions(session: Session, actor: Any, device_id: str, request_ids: list[str]) -> list[DeletionRequest]:
    """A device confirms it erased the subjects; a request completes once every device confirmed."""
    crud.get_or_404(session, Device, device_id, "device")
    devices = session.scalar(select(func.count()).select_from(Device)) or 0
    out = []
    for rid in request_ids:
        req = session.get(DeletionRequest, rid)
        if req is None:
            raise NotFoundError(f"deletion request {rid!r} not found")
        acked = sorted(set(req.acked_by or []) | {device_id})
        changes: dict[str, Any] = {"acked_by": acked}
        if len(acked) >= devices and req.status == "pending":
            changes.update(status="completed", completed_at=utcnow())
        out.append(crud.update(session, actor, req, "deletion_request", changes))
    return out


def export(session: Session) -> dict[str, Any]:
    from frugalstack.cloud.schemas.governance import DeletionRequestPublic, RetentionPolicyPublic, UseCasePublic

    use_cases = {u.id: u for u in session.scalars(select(UseCase).order_by(UseCase.name))}
    models = []
    for m in session.scalars(select(Model).order_by(Model.name)):
        uc = use_cases.get(m.use_case_id or "")
        versions = [{"version": v.version, "stage": v.stage, "id": v.id} for v in session.scalars(
            select(ModelVersion).where(ModelVersion.model_id == m.id).order_by(ModelVersion.created_at))]
        models.append({"name": m.name, "id": m.id, "use_case": uc.name if uc else None,
                       "risk_class": uc.risk_class if uc else "unclassified", "versions": versions})
    datasets = [{"name": d.name, "id": d.id, "license": d.license, "pii_status": d.pii_status,
                 "retention_days": d.retention_days, "source": d.source}
                for d in session.scalars(select(Dataset).order_by(Dataset.name))]
    check = audit.verify(session)
    return {
        "generated_at": utcnow(),
        "use_cases": [UseCasePublic.model_validate(u) for u in use_cases.values()],
        "models": models,
        "datasets": datasets,
        "retention_policies": [RetentionPolicyPublic.model_validate(p)
                               for p in session.scalars(select(RetentionPolicy))],
        "deletion_requests": [DeletionRequestPublic.model_validate(r) for r in session.scalars(
            select(DeletionRequest).order_by(DeletionRequest.created_at))],
        "audit": {"ok": check.ok, "entries": check.entries, "head_hash": check.head_hash,
                  "first_bad_seq": check.first_bad_seq},
    }


def _rows(items: list[dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(i.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for i in items) or f"<tr><td colspan='{len(cols)}'>none</td></tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def export_html(data: dict[str, Any]) -> str:
    """A self-contained report an auditor can read or print to PDF from the browser."""
    dump = lambda xs: [x.model_dump(mode="json") if hasattr(x, "model_dump") else x for x in xs]  # noqa: E731
    a = data["audit"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>frugalstack governance report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #999;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Governance report</h1><p>Generated {html.escape(str(data['generated_at']))}</p>"
        "<h2>Use cases (EU AI Act)</h2>" + _rows(dump(data["use_cases"]), [
            "name", "risk_class", "transparency_obligations", "human_oversight", "logging", "allow_raw_prompts"])
        + "<h2>Models</h2>" + _rows([{**m, "versions": ", ".join(f"{v['version']} ({v['stage']})"
                                                               for v in m["versions"])} for m in data["models"]],
                                    ["name", "use_case", "risk_class", "versions"])
        + "<h2>Datasets</h2>" + _rows(data["datasets"], ["name", "license", "pii_status", "retention_days", "source"])
        + "<h2>Retention policies</h2>" + _rows(dump(data["retention_policies"]), ["resource", "days"])
        + "<h2>Deletion requests</h2>" + _rows(dump(data["deletion_requests"]),
                                                ["subject_id", "status", "created_at", "completed_at"])
        + f"<h2>Audit log</h2><p>chain {'intact' if a['ok'] else 'BROKEN at entry ' + str(a['first_bad_seq'])}, "
        f"{a['entries']} entries, head {html.escape(a['head_hash'])}</p></body></html>"
    )
