"""Lineage edges dataset-version -> run -> model-version -> deployment, walked as a graph."""

from __future__ import annotations

from collections import deque

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import Dataset, DatasetVersion
from frugalstack.cloud.db.tables_registry import Deployment, LineageEdge, Model, ModelVersion, Run
from frugalstack.shared.errors import NotFoundError, ValidationError

KINDS = ("dataset_version", "run", "model_version", "deployment")


def link(session: Session, src_kind: str, src_id: str, dst_kind: str, dst_id: str, relation: str) -> None:
    session.add(LineageEdge(id=new_id(), src_kind=src_kind, src_id=src_id, dst_kind=dst_kind, dst_id=dst_id,
                            relation=relation))


def label(session: Session, kind: str, node_id: str) -> str | None:
    if kind == "dataset_version":
        dv = session.get(DatasetVersion, node_id)
        ds = session.get(Dataset, dv.dataset_id) if dv else None
        return f"{ds.name} v{dv.version}" if dv and ds else None
    if kind == "run":
        run = session.get(Run, node_id)
        return f"run {run.kind}" if run else None
    if kind == "model_version":
        mv = session.get(ModelVersion, node_id)
        m = session.get(Model, mv.model_id) if mv else None
        return f"{m.name} {mv.version} ({mv.stage})" if mv and m else None
    if kind == "deployment":
        dep = session.get(Deployment, node_id)
        return f"deployment to {dep.profile}" if dep else None
    raise ValidationError(f"unknown lineage kind {kind!r}; use one of {list(KINDS)}")


def graph(session: Session, kind: str, node_id: str, max_nodes: int = 500) -> tuple[
    list[tuple[str, str, str]], list[LineageEdge]
]:
    """Every node connected to (kind, id), upstream and downstream, with the edges between them."""
    root_label = label(session, kind, node_id)
    if root_label is None:
        raise NotFoundError(f"{kind} {node_id!r} not found")
    seen = {(kind, node_id)}
    nodes = [(kind, node_id, root_label)]
    edges: dict[str, LineageEdge] = {}
    queue = deque([(kind, node_id)])
    while queue and len(seen) < max_nodes:
        k, i = queue.popleft()
        rows = session.scalars(select(LineageEdge).where(or_(
            (LineageEdge.src_kind == k) & (LineageEdge.src_id == i),
            (LineageEdge.dst_kind == k) & (LineageEdge.dst_id == i),
        )))
        for e in rows:
            edges[e.id] = e
            for nk, ni in ((e.src_kind, e.src_id), (e.dst_kind, e.dst_id)):
                if (nk, ni) not in seen:
                    seen.add((nk, ni))
                    nodes.append((nk, ni, label(session, nk, ni) or "(deleted)"))
                    queue.append((nk, ni))
    return nodes, sorted(edges.values(), key=lambda e: (e.created_at, e.id))
