"""HTTP plumbing shared by the daemon's routes: JSON bodies, errors, body limits, bearer tokens."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server.errors import AgentAuthError, http_error

MAX_REQUEST_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
_JSON_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


class RequestError(AgentAuthError):
    """A client error with a stable code, rendered as ``{"error": code, "detail": …}`` with its registered status."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.extra = extra


def json_too_deep(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` nests arrays/objects deeper than ``max_depth`` (strings are skipped correctly).

    The parser would hit Python's recursion limit (a 500) on a 2 KB body of brackets; this check runs
    before any parser. Bodies with few brackets, nearly all of them, cost two C-level counts.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    depth = 0
    in_string = False
    escaped_at = -1  # the offset of the character a backslash escapes
    for match in _JSON_STRUCTURE.finditer(body):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if json_too_deep(body):
        raise RequestError("malformed_request", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        raise RequestError("malformed_request", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError("malformed_request", "the body must be a JSON object")
    return data


def field_str(data: dict[str, Any], name: str, *, required: bool = True, max_length: int = 4096) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise RequestError("malformed_request", f"field '{name}' is required")
        return None
    if not isinstance(value, str):
        raise RequestError("malformed_request", f"field '{name}' must be a string")
    if len(value) > max_length:
        raise RequestError("malformed_request", f"field '{name}' is longer than {max_length} characters")
    return value


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 (by Content-Length before reading, else while reading) and
    JSON nested deeper than :data:`MAX_JSON_DEPTH` with 400 — for every route, before any authentication.

    The body is read whole (it is at most ``max_bytes``) and replayed to the app.
    """

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
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replaying([message], receive), send)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await _too_large(scope, receive, send, self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_too_deep(body):
            response = http_error("malformed_request", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            await response(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body (what arrived before a disconnect), or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the already-read ``body`` once, then the connection's own messages."""
    return _replaying([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response: Response = http_error("request_too_large", f"request bodies are limited to {limit} bytes")
    await response(scope, receive, send)
