"""``/v1/experiments``: A/B tests of prompt or model versions, assignment and results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_ops import Experiment
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.experiments import (
    Assignment,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResults,
    ExperimentUpdate,
)
from frugalstack.cloud.services import crud, experiments
from frugalstack.shared.errors import ConflictError

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])


@router.post("", status_code=201, response_model=ExperimentPublic)
def create_experiment(body: ExperimentCreate, state: StateDep, who: Writer) -> ExperimentPublic:
    """Variants with weights; the first is the control. Devices get their variant in the manifest."""
    with state.db.write() as s:
        if s.scalars(select(Experiment).where(Experiment.name == body.name)).first():
            raise ConflictError(f"an experiment named {body.name!r} exists")
        row = Experiment(id=new_id(), name=body.name, kind=body.kind, profile=body.profile, status="running",
                         variants=[v.model_dump() for v in body.variants])
        return ExperimentPublic.model_validate(crud.create(s, who, row, "experiment"))


@router.get("", response_model=list[ExperimentPublic])
def list_experiments(state: StateDep, who: Reader) -> list[ExperimentPublic]:
    with state.db.read() as s:
        return [ExperimentPublic.model_validate(e) for e in s.scalars(select(Experiment).order_by(Experiment.name))]


@router.get("/{experiment_id}", response_model=ExperimentPublic)
def get_experiment(experiment_id: str, state: StateDep, who: Reader) -> ExperimentPublic:
    with state.db.read() as s:
        return ExperimentPublic.model_validate(crud.get_or_404(s, Experiment, experiment_id, "experiment"))


@router.patch("/{experiment_id}", response_model=ExperimentPublic)
def update_experiment(experiment_id: str, body: ExperimentUpdate, state: StateDep, who: Writer) -> ExperimentPublic:
    with state.db.write() as s:
        row = crud.get_or_404(s, Experiment, experiment_id, "experiment")
        return ExperimentPublic.model_validate(crud.update(s, who, row, "experiment", {"status": body.status}))


@router.get("/{experiment_id}/assignment", response_model=Assignment)
def assignment(experiment_id: str, device_id: Annotated[str, Query(min_length=1, max_length=64)],
               state: StateDep, who: Reader) -> Assignment:
    """The variant a device id gets (deterministic hash of experiment id and device id)."""
    with state.db.read() as s:
        exp = crud.get_or_404(s, Experiment, experiment_id, "experiment")
        return Assignment(experiment_id=exp.id, device_id=device_id,
                          variant=experiments.assign(exp.id, device_id, exp.variants))


@router.get("/{experiment_id}/results", response_model=ExperimentResults)
def results(experiment_id: str, state: StateDep, who: Reader,
            confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95) -> ExperimentResults:
    """Feedback positive rate per variant (Wilson CI) and a two-proportion z-test against the control."""
    with state.db.read() as s:
        return ExperimentResults.model_validate(experiments.results(s, experiment_id, confidence))
