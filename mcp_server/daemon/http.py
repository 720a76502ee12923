"""HTTP plumbing shared by the daemon's routes: JSON bodies, errors, body limits, bearer tokens."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_REQUEST_BYTES = 1024 * 1024


class RequestError(Exception):
    """A client error with a stable code, rendered as ``{"error": code, "detail": …}``."""

    def __init__(self, status: int, code: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def error_response(
    status: int, code: str, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {**extra, "error": code}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "malformed_request", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError(400, "malformed_request", "the body must be a JSON object")
    return data


def field_str(data: dict[str, Any], name: str, *, required: bool = True, max_length: int = 4096) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise RequestError(400, "malformed_request", f"field '{name}' is required")
        return None
    if not isinstance(value, str):
        raise RequestError(400, "malformed_request", f"field '{name}' must be a string")
    if len(value) > max_length:
        raise RequestError(400, "malformed_request", f"field '{name}' is longer than {max_length} characters")
    return value


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 — by Content-Length before reading, else while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(scope, receive, send, self.max_bytes)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send, self.max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response: Response = error_response(413, "request_too_large", f"request bodies are limited to {limit} bytes")
    await response(scope, receive, send)
