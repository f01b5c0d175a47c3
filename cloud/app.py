"""``create_app(settings)``: the control plane as a FastAPI app (migrations run before it serves)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frugalstack.cloud import errors
from frugalstack.cloud.db import Database
from frugalstack.cloud.middleware import BodyLimit
from frugalstack.cloud.routers import ROUTERS
from frugalstack.cloud.routers.distill import router as distill_router
from frugalstack.cloud.routers.features import router as features_router
from frugalstack.cloud.services import audit
from frugalstack.cloud.services.blobs import BlobStore
from frugalstack.cloud.services.ratelimit import make_limiter
from frugalstack.cloud.services.signing import Signer
from frugalstack.cloud.settings import CloudSettings
from frugalstack.cloud.state import CloudState

log = logging.getLogger("frugalstack.cloud")

DESCRIPTION = """The frugalstack control plane: data with lineage, a model registry with signed over-the-air
updates, governance, fleet observability, experiments and an OpenAI-compatible gateway.

Authenticate with `Authorization: Bearer <API key>`. Errors have the OpenAI shape
`{"error": {"message", "type", "code"}}`."""


def build_state(settings: CloudSettings) -> CloudState:
    """Check the configuration, migrate the database and load the signing key; raises ConfigError."""
    admin_secret = settings.resolve_admin_secret()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.url)
    db.migrate()
    with db.write() as session:
        audit.ensure_head(session)
    return CloudState(
        settings=settings,
        db=db,
        signer=Signer(settings.signing_key_path),
        blobs=BlobStore(settings.artifacts_dir),
        limiter=make_limiter(settings.rate_limit_store, db.engine, settings.rate_limit_per_minute,
                             settings.rate_limit_burst),
        admin_secret=admin_secret,
    )


def create_app(settings: CloudSettings | None = None) -> FastAPI:
    settings = settings or CloudSettings()
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="frugalstack cloud", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.cloud = state
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(distill_router)
    app.include_router(features_router)
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "Range"])
    return app
