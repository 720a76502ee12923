"""The HTTP layer of scope enforcement around ``/mcp`` (the server-middleware layer is ``enforcement.py``).

:class:`McpHttpGate` (ASGI) answers a ``tools/call`` of a tool whose scope the token lacks or holds at ``deny``
with ``403`` and ``WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`` before the SDK sees it, so
the tool body never runs; the refusal is recorded. It also bounds the body (size, JSON depth), answers a
missing or unusable token with the SDK's ``401`` challenge, and reserves a session slot per family for
handshake-era requests that may open one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PROTOCOL_VERSION_HEADER, decode_header_value
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.gate import Decision, Gate
from auth.principal import Principal
from auth.scopes import Tier
from mcp_server.daemon.edge import identity_of
from mcp_server.daemon.http import MAX_JSON_DEPTH, json_too_deep, read_body, replaying
from mcp_server.errors import (
    JSONRPC_INSUFFICIENT_SCOPE,
    JSONRPC_TOO_MANY_SESSIONS,
    http_status,
    jsonrpc_error,
)
from mcp_server.mcp.refusals import token_refused_error
from mcp_server.mcp.registry import ToolRegistry, ToolSpec
from mcp_server.mcp.session_limits import SessionLimiter

log = logging.getLogger(__name__)

MAX_MCP_BODY_BYTES = 4 * 1024 * 1024
REFUSED_BODY_PEEK_BYTES = 16 * 1024
_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.encode("ascii")
_METHOD_HEADER = MCP_METHOD_HEADER.encode("ascii")
_NAME_HEADER = MCP_NAME_HEADER.encode("ascii")
TOO_MANY_SESSIONS_ERROR_CODE = JSONRPC_TOO_MANY_SESSIONS
# The stable code for callers is ``data.error == "insufficient_scope"``.
INSUFFICIENT_SCOPE_ERROR_CODE = JSONRPC_INSUFFICIENT_SCOPE


class McpHttpGate:
    """ASGI wrapper for ``/mcp``: refuse out-of-scope ``tools/call`` with 403 before the SDK runs."""

    def __init__(
        self,
        app: ASGIApp,
        gate: Gate,
        registry: ToolRegistry,
        resource_metadata_url: str,
        sessions: SessionLimiter | None = None,
    ) -> None:
        self.app = app
        self.gate = gate
        self.registry = registry
        self.resource_metadata_url = resource_metadata_url
        self.sessions = sessions
        self.on_refusal: Callable[[str], None] = lambda tool: None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        head = _RequestHead.of(scope.get("headers", []))
        declared = head.declared
        if declared is not None and declared > MAX_MCP_BODY_BYTES:
            await _json(
                send, http_status("request_too_large"), {"error": "request_too_large"}
            )  # at once: nothing is read
            return
        # The edge authenticated the headers' token once, before any body is read: without a valid token
        # nobody makes the daemon buffer megabytes. Only a small refused body is read, for its request id.
        principal = identity_of(scope, self.gate)
        if not isinstance(principal, Principal):
            if principal.code == "missing_token":
                await self.app(scope, receive, send)  # the SDK answers 401 from the headers alone
                return
            small = declared is not None and declared <= REFUSED_BODY_PEEK_BYTES
            body = await read_body(receive, REFUSED_BODY_PEEK_BYTES) if small else None
            await self._unauthorized(principal.code, _request_id(body) if body else None)(send)
            return
        body = await read_body(receive, MAX_MCP_BODY_BYTES)
        if body is None:
            await _json(send, http_status("request_too_large"), {"error": "request_too_large"})
            return
        if json_too_deep(body):
            await _json(
                send, http_status("malformed_request"), _parse_error(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            )
            return
        refusal = self._refusal(principal, body, head)
        if refusal is not None:
            await refusal(send)
            return
        replay = replaying(body, receive)
        if self.sessions is None or head.has_session or head.modern:
            # Only a handshake-era request without a session id can open a session (the SDK never opens
            # one for the 2026-07-28 protocol): nothing to reserve for the others.
            await self.app(scope, replay, send)
            return
        family_id = principal.family_id
        if not self.sessions.try_open(family_id):
            await _json(
                send, http_status("too_many_sessions"), _too_many_sessions(self.sessions.per_family, _request_id(body))
            )
            return
        opened: list[str] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and int(message["status"]) < 400:
                opened.extend(v.decode("latin-1") for k, v in message.get("headers", []) if k == b"mcp-session-id")
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            self.sessions.opened(family_id, opened[0] if opened else None)

    def _refusal(self, principal: Principal, body: bytes, head: _RequestHead) -> Callable[[Send], Any] | None:
        if head.modern:
            # 2026-07-28: the SDK dispatches a body only if its method and tool name equal the ``Mcp-Method``
            # and ``Mcp-Name`` headers (else HEADER_MISMATCH, and batches are refused), so the headers name
            # the one call this body can make; the body is parsed only to answer a refusal with its id.
            if head.method != "tools/call" or head.name is None:
                return None
            spec = self.registry.get(head.name)
            if spec is None or not self._denied(principal, spec):
                return None
            return self._forbidden(spec.scope or "", spec.name, _request_id(body))
        if b"tools/call" not in body:
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        messages = payload if isinstance(payload, list) else [payload]
        for message in messages:
            if not isinstance(message, dict) or message.get("method") != "tools/call":
                continue
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            spec = self.registry.get(name) if isinstance(name, str) else None
            if spec is not None and self._denied(principal, spec):
                return self._forbidden(spec.scope or "", spec.name, message.get("id"))
        return None

    def _denied(self, principal: Principal, spec: ToolSpec) -> bool:
        """True (and the refusal recorded) when ``principal`` holds the tool's scope at ``deny`` or not at all."""
        if spec.scope is None or principal.tier(spec.scope) is not Tier.DENY:
            return False
        refused = Decision(False, "scope_denied", Tier.DENY, principal.family_id, principal.label, principal.token_id)
        self.gate.record_decision(refused, surface="mcp", target=spec.name, scope=spec.scope)
        self.on_refusal(spec.name)
        return True

    def _unauthorized(self, code: str, request_id: Any) -> Callable[[Send], Any]:
        """401 with the SDK's Bearer challenge; the body is a JSON-RPC error that says what to do."""
        challenge = (
            f'Bearer error="invalid_token", error_description="{code}", '
            f'resource_metadata="{self.resource_metadata_url}"'
        )

        async def respond(send: Send) -> None:
            await _json(send, 401, token_refused_error(code, request_id), [(b"www-authenticate", challenge.encode())])

        return respond

    def _forbidden(self, needed: str, tool: str, request_id: Any) -> Callable[[Send], Any]:
        challenge = (
            f'Bearer error="insufficient_scope", scope="{needed}", '
            f'resource_metadata="{self.resource_metadata_url}", '
            f'error_description="tool {tool} needs scope {needed}"'
        )

        async def respond(send: Send) -> None:
            # The body is the JSON-RPC error for the refused request: MCP clients (the SDK's among them)
            # surface a JSON-RPC error from a non-2xx answer, so the caller reads why instead of a bare 403.
            message = f"This token is not allowed to use {tool} (it needs scope {needed})."
            await _json(
                send,
                http_status("insufficient_scope"),
                jsonrpc_error(request_id, "insufficient_scope", message, scope=needed, tool=tool),
                [(b"www-authenticate", challenge.encode())],
            )

        return respond


class _RequestHead(NamedTuple):
    """What ``McpHttpGate`` reads from a POST's headers, in one pass."""

    declared: int | None  # Content-Length (unreadable: over the limit)
    has_session: bool  # an ``Mcp-Session-Id`` is sent
    modern: bool  # the 2026-07-28 era, decided as the SDK routes it (on the first ``Mcp-Protocol-Version``)
    method: str | None  # ``Mcp-Method`` (modern era)
    name: str | None  # ``Mcp-Name``, decoded as the SDK decodes it (modern era)

    @classmethod
    def of(cls, headers: Iterable[tuple[bytes, bytes]]) -> _RequestHead:
        declared: int | None = None
        has_session = False
        version = method = name = None
        for key, value in headers:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = MAX_MCP_BODY_BYTES + 1
            elif key == _SESSION_HEADER:
                has_session = True
            elif key == _VERSION_HEADER:
                version = value if version is None else version
            elif key == _METHOD_HEADER:
                method = value
            elif key == _NAME_HEADER:
                name = value
        modern = version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS
        if not modern:
            return cls(declared, has_session, False, None, None)
        return cls(
            declared,
            has_session,
            True,
            method.decode("latin-1") if method is not None else None,
            decode_header_value(name.decode("latin-1")) if name is not None else None,
        )


def _parse_error(message: str) -> dict[str, Any]:
    return jsonrpc_error(None, "malformed_request", message)


def _too_many_sessions(limit: int, request_id: Any) -> dict[str, Any]:
    message = f"This token already has {limit} open MCP sessions; close one (or let it expire) first."
    return jsonrpc_error(request_id, "too_many_sessions", message, limit=limit)


def _request_id(body: bytes) -> Any:
    """The id of a single JSON-RPC request, else None (a batch, a notification, not JSON, too deep)."""
    if json_too_deep(body):
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


async def _json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
