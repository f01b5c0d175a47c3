"""``/v1/lineage/{kind}/{id}``: the connected graph dataset-version → run → model-version → deployment."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from frugalstack.cloud.deps import Reader, StateDep
from frugalstack.cloud.schemas.datasets import LineageEdgePublic, LineageGraph, LineageNode
from frugalstack.cloud.services import lineage

router = APIRouter(prefix="/v1/lineage", tags=["lineage"])


@router.get("/{kind}/{node_id}", response_model=LineageGraph)
def get_lineage(
    kind: Literal["dataset_version", "run", "model_version", "deployment"], node_id: str, state: StateDep, who: Reader
) -> LineageGraph:
    """Every node upstream and downstream of the given one, with the edges between them."""
    with state.db.read() as s:
        nodes, edges = lineage.graph(s, kind, node_id)
        out = [LineageNode(kind=k, id=i, label=label) for k, i, label in nodes]
        return LineageGraph(root=out[0], nodes=out, edges=[LineageEdgePublic.model_validate(e) for e in edges])
