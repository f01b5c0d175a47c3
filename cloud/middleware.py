"""Request size limit as plain ASGI: checked on Content-Length and while the body streams in."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frugalstack.shared.errors import PayloadTooLargeError


def is_upload(method: str, path: str) -> bool:
    """Routes that take file content: artifact content and dataset versions."""
    if method not in ("PUT", "POST"):
        return False
    return path.endswith("/content") or (path.startswith("/v1/datasets/") and path.endswith("/versions"))


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int, max_upload: int):
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if is_upload(scope["method"], scope["path"]) else self.max_body
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _reject(send, limit)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLargeError(f"request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _reject(send: Send, limit: int) -> None:
    import json

    body = json.dumps(PayloadTooLargeError(f"request body is over the limit of {limit} bytes").to_dict()).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                          (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
