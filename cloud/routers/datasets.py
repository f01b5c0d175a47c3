"""``/v1/datasets`` and ``/v1/dataset-versions``: datasets, immutable versions (upload), data cards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import Dataset, DatasetVersion, UseCase
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.datasets import (
    DataCard,
    DatasetCreate,
    DatasetPublic,
    DatasetUpdate,
    DatasetVersionPublic,
)
from frugalstack.cloud.services import cards, crud, datasets
from frugalstack.cloud.uploads import receive
from frugalstack.shared.errors import ConflictError

router = APIRouter(tags=["data"])


@router.post("/v1/datasets", status_code=201, response_model=DatasetPublic)
def create_dataset(body: DatasetCreate, state: StateDep, who: Writer) -> DatasetPublic:
    with state.db.write() as s:
        if s.scalars(select(Dataset).where(Dataset.name == body.name)).first():
            raise ConflictError(f"a dataset named {body.name!r} exists")
        if body.use_case_id:
            crud.get_or_404(s, UseCase, body.use_case_id, "use case")
        return DatasetPublic.model_validate(crud.create(s, who, Dataset(id=new_id(), **body.model_dump()), "dataset"))


@router.get("/v1/datasets", response_model=list[DatasetPublic])
def list_datasets(state: StateDep, who: Reader) -> list[DatasetPublic]:
    with state.db.read() as s:
        return [DatasetPublic.model_validate(d) for d in s.scalars(select(Dataset).order_by(Dataset.name))]


@router.get("/v1/datasets/{dataset_id}", response_model=DatasetPublic)
def get_dataset(dataset_id: str, state: StateDep, who: Reader) -> DatasetPublic:
    with state.db.read() as s:
        return DatasetPublic.model_validate(crud.get_or_404(s, Dataset, dataset_id, "dataset"))


@router.patch("/v1/datasets/{dataset_id}", response_model=DatasetPublic)
def update_dataset(dataset_id: str, body: DatasetUpdate, state: StateDep, who: Writer) -> DatasetPublic:
    """Metadata only (data card fields; null leaves a field as it is); content lives in immutable versions."""
    with state.db.write() as s:
        row = crud.get_or_404(s, Dataset, dataset_id, "dataset")
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        return DatasetPublic.model_validate(crud.update(s, who, row, "dataset", changes))


@router.post("/v1/datasets/{dataset_id}/versions", status_code=201, response_model=DatasetVersionPublic,
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def upload_version(
    dataset_id: str,
    request: Request,
    state: StateDep,
    who: Writer,
    format: Annotated[Literal["jsonl", "csv", "parquet"], Query(description="content format")] = "jsonl",
) -> DatasetVersionPublic:
    """Raw file bytes in the body. Identical content to an existing version gives 409."""
    with state.db.read() as s:
        crud.get_or_404(s, Dataset, dataset_id, "dataset")
    tmp, sha, size = await receive(request, state.blobs)

    def _store() -> DatasetVersionPublic:
        try:
            with state.db.write() as s:
                dv = datasets.add_version(s, who, state.blobs, dataset_id, tmp, sha, size, format)
                return DatasetVersionPublic.model_validate(dv)
        finally:
            tmp.unlink(missing_ok=True)

    return await run_in_threadpool(_store)


@router.get("/v1/datasets/{dataset_id}/versions", response_model=list[DatasetVersionPublic])
def list_versions(dataset_id: str, state: StateDep, who: Reader) -> list[DatasetVersionPublic]:
    with state.db.read() as s:
        crud.get_or_404(s, Dataset, dataset_id, "dataset")
        return [DatasetVersionPublic.model_validate(v) for v in s.scalars(
            select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id).order_by(DatasetVersion.version))]


@router.get("/v1/dataset-versions/{version_id}", response_model=DatasetVersionPublic)
def get_version(version_id: str, state: StateDep, who: Reader) -> DatasetVersionPublic:
    with state.db.read() as s:
        return DatasetVersionPublic.model_validate(crud.get_or_404(s, DatasetVersion, version_id, "dataset version"))


@router.get("/v1/dataset-versions/{version_id}/content", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the file as uploaded"}})
def download_version(version_id: str, state: StateDep, who: Reader) -> FileResponse:
    with state.db.read() as s:
        dv = crud.get_or_404(s, DatasetVersion, version_id, "dataset version")
    return FileResponse(dv.storage_path, media_type="application/octet-stream",
                        headers={"X-Content-SHA256": dv.content_hash})


@router.get("/v1/dataset-versions/{version_id}/card", response_model=DataCard)
def data_card(version_id: str, state: StateDep, who: Reader) -> DataCard:
    """Source, licence, PII status, retention, schema and the runs that used this version."""
    with state.db.read() as s:
        c = cards.data_card(s, version_id)
        return DataCard(dataset=DatasetPublic.model_validate(c["dataset"]),
                        version=DatasetVersionPublic.model_validate(c["version"]), columns=c["columns"],
                        used_by_runs=c["used_by_runs"], markdown=c["markdown"])


@router.get("/v1/dataset-versions/{version_id}/card.md", response_class=PlainTextResponse)
def data_card_markdown(version_id: str, state: StateDep, who: Reader) -> str:
    with state.db.read() as s:
        return str(cards.data_card(s, version_id)["markdown"])
