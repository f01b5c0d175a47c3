"""FastAPI dependencies: the app state, the calling principal (API key) and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from frugalstack.cloud.services.auth import READ_ROLES, WRITE_ROLES, Principal, authenticate
from frugalstack.cloud.state import CloudState
from frugalstack.shared.errors import AuthenticationError

_bearer = HTTPBearer(auto_error=False, description="API key: Authorization: Bearer <key>")


async def get_state(request: Request) -> CloudState:  # async: no thread-pool hop for a cheap lookup
    state: CloudState = request.app.state.cloud
    return state


StateDep = Annotated[CloudState, Depends(get_state)]


def principal(
    request: Request, state: StateDep, creds: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Principal:
    client = request.client.host if request.client else "unknown"
    if creds is None or not creds.credentials:
        state.limiter.check(f"ip:{client}")
        raise AuthenticationError("missing API key", hint="send Authorization: Bearer <key>")
    try:
        with state.db.read() as session:
            who = authenticate(session, creds.credentials, state.admin_secret)
    except AuthenticationError:
        state.limiter.check(f"ip:{client}")
        raise
    state.limiter.check(f"key:{who.key_id}")
    return who


def require(roles: frozenset[str] | set[str]) -> Callable[..., Awaitable[Principal]]:
    async def _check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        who.require(roles)
        return who

    return _check


Reader = Annotated[Principal, Depends(require(READ_ROLES))]
Writer = Annotated[Principal, Depends(require(WRITE_ROLES))]
Admin = Annotated[Principal, Depends(require({"admin"}))]
AnyKey = Annotated[Principal, Depends(principal)]
