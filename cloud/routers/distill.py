"""``/v1/distill/jobs``: start a distillation run (its own process), read its status and its log."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.shared.errors import NotFoundError

router = APIRouter(prefix="/v1/distill/jobs", tags=["distillation"])


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"config": {"name": "demo", "teacher": {"kind": "local"}, "data": {"limit_per_task": 60}}}]})

    config: dict[str, Any] = Field(description="a distillation config (the YAML file's content as JSON)")


class JobStatus(BaseModel):
    id: str
    state: str
    stage: str | None = None
    last: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    registry: dict[str, Any] | None = None
    error: str | None = None


def _jobs_dir(state: Any) -> Path:
    path = Path(state.settings.data_dir) / "distill-jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _status(job_dir: Path) -> JobStatus:
    if not (job_dir / "status.json").is_file():
        raise NotFoundError(f"distillation job {job_dir.name!r} not found")
    raw = json.loads((job_dir / "status.json").read_text())
    return JobStatus(id=job_dir.name, **{k: raw.get(k) for k in JobStatus.model_fields if k != "id"})


@router.post("", status_code=202, response_model=JobStatus)
def start_job(body: JobCreate, state: StateDep, who: Writer) -> JobStatus:
    """Validate the config (422 when it is wrong) and start the run; poll ``GET /v1/distill/jobs/{id}``."""
    from frugalstack.cloud.distill.config import load_config
    from frugalstack.cloud.distill.job import write_status

    cfg = load_config(body.config)
    job_id = uuid.uuid4().hex[:16]
    job_dir = _jobs_dir(state) / job_id
    job_dir.mkdir()
    (job_dir / "config.json").write_text(json.dumps(cfg.model_dump(mode="json")))
    write_status(job_dir, state="queued", created_by=who.key_id)
    with (job_dir / "stdout.txt").open("wb") as out:
        subprocess.Popen([sys.executable, "-m", "frugalstack.cloud.distill.job", str(job_dir)], stdout=out,
                         stderr=subprocess.STDOUT, start_new_session=True)
    return _status(job_dir)


@router.get("", response_model=list[JobStatus])
def list_jobs(state: StateDep, who: Reader) -> list[JobStatus]:
    dirs = sorted(_jobs_dir(state).iterdir(), key=lambda p: p.stat().st_mtime)
    return [_status(d) for d in dirs if (d / "status.json").is_file()]


@router.get("/{job_id}", response_model=JobStatus)
def get_job(job_id: str, state: StateDep, who: Reader) -> JobStatus:
    return _status(_jobs_dir(state) / Path(job_id).name)


@router.get("/{job_id}/logs", response_class=PlainTextResponse)
def job_logs(job_id: str, state: StateDep, who: Reader,
             tail: int = Query(200, ge=1, le=10_000, description="last N lines")) -> str:
    job_dir = _jobs_dir(state) / Path(job_id).name
    _status(job_dir)
    lines: list[str] = []
    for name in ("log.txt", "stdout.txt"):
        if (job_dir / name).is_file():
            lines += (job_dir / name).read_text(errors="replace").splitlines()
    return "\n".join(lines[-tail:]) + "\n"
