"""A distillation job in its own process: ``python -m frugalstack.cloud.distill.job JOB_DIR``.

The jobs API starts one per request; progress goes to ``status.json`` (atomic rewrites) and ``log.txt``,
so the API can answer status and logs without sharing memory with the run (and a crashed run says so).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def write_status(job_dir: Path, **fields: Any) -> dict[str, Any]:
    path = job_dir / "status.json"
    status = json.loads(path.read_text()) if path.is_file() else {}
    status.update(fields, updated_at=time.time())
    tmp = path.with_name("status.json.tmp")
    tmp.write_text(json.dumps(status, default=str))
    tmp.replace(path)
    return status


def main(job_dir: Path) -> int:
    from frugalstack.cloud.distill.pipeline import run_pipeline

    logging.basicConfig(filename=job_dir / "log.txt", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("FRUGAL_PROGRESS", "0")
    write_status(job_dir, state="running", pid=os.getpid())

    def on_event(stage: str, info: dict[str, Any]) -> None:
        write_status(job_dir, stage=stage, last=info)

    try:
        config = json.loads((job_dir / "config.json").read_text())
        result = run_pipeline(config, workdir=job_dir / "work", on_event=on_event)
    except Exception as exc:  # the job reports every failure; the API process stays up
        logging.getLogger("frugalstack.distill").error("job failed:\n%s", traceback.format_exc())
        code = getattr(exc, "code", type(exc).__name__)
        write_status(job_dir, state="failed", error=f"{code}: {exc}")
        return 1
    write_status(job_dir, state=result["status"], summary=result.get("summary"), registry=result.get("registry"))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
