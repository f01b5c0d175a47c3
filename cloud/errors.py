"""Exception handlers: every failure leaves as an OpenAI-style body ``{"error": {message, type, code}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from frugalstack.shared.errors import FrugalError, RateLimitError

log = logging.getLogger("frugalstack.cloud")

_HTTP_CODES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied",
               404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 416: "range_not_satisfiable"}


def error_body(message: str, code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "type": code, "code": code}
    if details:
        body["details"] = details
    return {"error": body}


def _loc(loc: Any) -> str:
    return ".".join(str(x) for x in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(FrugalError)
    async def _frugal(_: Request, exc: FrugalError) -> JSONResponse:
        headers = {}
        if isinstance(exc, RateLimitError):
            headers["Retry-After"] = str(max(1, round(exc.details.get("retry_after_s", 1))))
        if exc.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        message = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5]) or "invalid request"
        return JSONResponse(error_body(message, "invalid_request_error", {"errors": errors}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse(error_body("conflicts with an existing record (duplicate name or missing reference)",
                                       "conflict"), status_code=409)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse(error_body(f"the database refused a value: {exc.orig}", "invalid_request_error"),
                            status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _db_down(_: Request, exc: Exception) -> JSONResponse:
        # the database restarted or is unreachable: a retryable 503 now; pool_pre_ping reconnects later
        log.warning("database unavailable: %s", str(exc).splitlines()[0][:200])
        return JSONResponse(error_body("the database is unavailable; retry shortly", "service_unavailable"),
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal server error", "internal_error"), status_code=500)
