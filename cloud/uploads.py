"""Receive a request body into a temp file while hashing it (async; the file write is chunked)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from frugalstack.cloud.services.blobs import BlobStore


async def receive(request: Request, blobs: BlobStore) -> tuple[Path, str, int]:
    tmp = blobs.temp_path()
    h, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as f:
            async for chunk in request.stream():
                if chunk:
                    h.update(chunk)
                    size += len(chunk)
                    await run_in_threadpool(f.write, chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest(), size
