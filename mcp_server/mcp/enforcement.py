"""Enforcement of tool scopes, in one place, for every MCP transport.

Two layers, both calling the daemon's gate:

- :class:`McpHttpGate` (ASGI, around ``/mcp``): a ``tools/call`` of a tool whose scope the token lacks or
  holds at ``deny`` is answered ``403`` with ``WWW-Authenticate: Bearer error="insufficient_scope",
  scope="…"`` before the SDK sees it — the tool body never runs.
- :class:`GateMiddleware` (the SDK's server middleware): filters ``tools/list`` per token, and for
  ``tools/call`` decides allow / prompt (waiting for a person, sending progress so the client keeps the
  call alive) / deny, then writes one audit entry per call with tool, scope, decision and latency.
  Arguments reach the audit only as the tool's one-line summary.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult, ListToolsResult, TextContent
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.approvals import PendingApproval
from auth.errors import AuditError, TokenError
from auth.gate import Decision, Gate, Principal
from auth.scopes import Tier
from mcp_server.daemon.http import MAX_JSON_DEPTH, json_too_deep
from mcp_server.mcp.refusals import token_refused_error
from mcp_server.mcp.registry import PROMPT_NOTE, ToolRegistry
from mcp_server.mcp.session_limits import SessionLimiter

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 5.0
MAX_MCP_BODY_BYTES = 4 * 1024 * 1024
REFUSED_BODY_PEEK_BYTES = 16 * 1024
TOO_MANY_SESSIONS_ERROR_CODE = -32005
# JSON-RPC's server-error range; the stable code for callers is ``data.error == "insufficient_scope"``.
INSUFFICIENT_SCOPE_ERROR_CODE = -32003

TokenSource = Callable[[ServerRequestContext[Any, Any]], str | None]

DENIED_MESSAGES = {
    "scope_denied": "This token is not allowed to use {tool} (it needs scope {scope}). Ask the person who "
    "runs agent-auth to grant it; do not retry.",
    "rate_limited": "Too many calls for this token; wait {retry}s and try again.",
    "declined": "The call to {tool} was declined by the user; do not retry without asking them first.",
    "timeout": "Nobody approved the call to {tool} in time, so it did not run; ask the user before retrying.",
    "too_many_pending": "Too many calls are already waiting for approval; wait for them to be decided.",
}


def bearer_from_request(ctx: ServerRequestContext[Any, Any]) -> str | None:
    request = ctx.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    scheme, _, value = str(headers.get("authorization", "")).partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _list_result(result: HandlerResult) -> ListToolsResult | None:
    """The SDK hands middleware the wire form (a dict); read it as a model so it can be filtered."""
    if isinstance(result, ListToolsResult):
        return result
    if isinstance(result, dict):
        try:
            return ListToolsResult.model_validate(result)
        except ValidationError:
            return None
    return None


def _tool_error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


class GateMiddleware:
    def __init__(self, gate: Gate, registry: ToolRegistry, token_source: TokenSource = bearer_from_request) -> None:
        self.gate = gate
        self.registry = registry
        self.token_source = token_source
        self.on_call: Callable[[str, str], None] | None = None  # (tool, outcome) for metrics

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/list":
            return self._filter_list(ctx, await call_next(ctx))
        if ctx.method == "tools/call":
            return await self._call(ctx, call_next)
        return await call_next(ctx)

    # --- tools/list ----------------------------------------------------------------------------

    def _filter_list(self, ctx: ServerRequestContext[Any, Any], result: HandlerResult) -> HandlerResult:
        token = self.token_source(ctx)
        scopes: dict[str, Tier] = {}
        if token is not None:
            try:
                scopes = self.gate.authenticate(token).scopes
            except TokenError:
                scopes = {}
        listed = _list_result(result)
        if listed is None:
            log.error("tools/list returned an unexpected shape; listing no tools")
            return ListToolsResult(tools=[])
        visible = []
        for tool in listed.tools:
            spec = self.registry.get(tool.name)
            if spec is None or token is None:
                continue  # unknown to the registry, or no principal: fail closed
            if spec.scope is None:
                visible.append(tool)
                continue
            tier = scopes.get(spec.scope, Tier.DENY)
            if tier is Tier.ALLOW:
                visible.append(tool)
            elif tier is Tier.PROMPT:
                visible.append(tool.model_copy(update={"description": (tool.description or "") + PROMPT_NOTE}))
        return listed.model_copy(update={"tools": visible})

    # --- tools/call ----------------------------------------------------------------------------

    async def _call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        started = time.perf_counter()
        params = ctx.params or {}
        name = params.get("name")
        arguments = params.get("arguments") or {}
        spec = self.registry.get(name) if isinstance(name, str) else None
        if spec is None:
            return await call_next(ctx)  # the SDK answers "unknown tool"
        summary = spec.summary(arguments if isinstance(arguments, dict) else {})
        token = self.token_source(ctx)
        if token is None:
            return self._finish(
                spec.name,
                spec.scope,
                "deny",
                "missing_token",
                started,
                summary,
                _tool_error("This server needs an agent-auth access token."),
            )
        scope = spec.scope or "agent-auth:session"
        if spec.scope is None:
            try:
                self.gate.authenticate(token)
            except TokenError as exc:
                return self._finish(
                    spec.name,
                    None,
                    "deny",
                    exc.code,
                    started,
                    summary,
                    _tool_error("The access token is not valid; refresh it."),
                )
            return await self._run(ctx, call_next, spec.name, None, started, summary, "allow")
        decision = await self._authorize(ctx, token, scope, spec.name, summary)
        if decision.allowed:
            grant = (
                "timed_grant"
                if decision.detail == "timed_grant"
                else (decision.approval.grant if decision.approval else None)
            )
            return await self._run(
                ctx,
                call_next,
                spec.name,
                scope,
                started,
                summary,
                "allow",
                tier=decision.tier,
                family_id=decision.family_id,
                grant=grant,
            )
        code = decision.code or "scope_denied"
        reason = decision.detail if decision.approval is not None else None
        key = {
            "denied": "declined",
            "timeout": "timeout",
            "cancelled": "timeout",
            "too_many_pending": "too_many_pending",
        }.get(reason or "", code)
        template = DENIED_MESSAGES.get(key, DENIED_MESSAGES["scope_denied"])
        if code in ("invalid_token", "token_expired", "token_revoked"):
            template = "The access token is not valid ({code}); refresh it or ask for a new one."
        message = template.format(tool=spec.name, scope=scope, code=code, retry=int(decision.retry_after_seconds or 1))
        return self._finish(
            spec.name,
            scope,
            "deny",
            reason or code,
            started,
            summary,
            _tool_error(message),
            family_id=decision.family_id,
            tier=decision.tier,
        )

    async def _authorize(
        self, ctx: ServerRequestContext[Any, Any], token: str, scope: str, tool: str, summary: str
    ) -> Decision:
        decision = self.gate.check(token, scope, operation=f"mcp:{tool}", audit=False)
        if not decision.needs_approval:
            return decision
        done = anyio.Event()

        async def keep_alive(approval: PendingApproval) -> None:
            async def loop() -> None:
                waited = 0.0
                while not done.is_set():
                    remaining = max(0, int(approval.expires_at - time.time()))
                    await ctx.session.report_progress(
                        waited, None, f"waiting for a person to approve {tool} ({remaining}s left)"
                    )
                    with anyio.move_on_after(PROGRESS_INTERVAL_SECONDS):
                        await done.wait()
                    waited += PROGRESS_INTERVAL_SECONDS

            task_group.start_soon(loop)

        async with anyio.create_task_group() as task_group:
            try:
                decision = await self.gate.authorize(
                    token, scope, operation=f"mcp:{tool}", summary=summary, on_pending=keep_alive, audit=False
                )
            finally:
                done.set()
        return decision

    async def _run(
        self,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
        tool: str,
        scope: str | None,
        started: float,
        summary: str,
        outcome: str,
        **extra: Any,
    ) -> HandlerResult:
        try:
            result = await call_next(ctx)
        except BaseException:
            self._audit(tool, scope, outcome, "error", started, summary, **extra)
            raise
        failed = (isinstance(result, CallToolResult) and result.is_error) or (
            isinstance(result, dict) and result.get("isError") is True
        )
        self._audit(tool, scope, outcome, "tool_error" if failed else "ok", started, summary, **extra)
        return result

    def _finish(
        self,
        tool: str,
        scope: str | None,
        outcome: str,
        reason: str,
        started: float,
        summary: str,
        result: CallToolResult,
        **extra: Any,
    ) -> CallToolResult:
        self._audit(tool, scope, outcome, reason, started, summary, **extra)
        return result

    def _audit(
        self, tool: str, scope: str | None, outcome: str, result: str, started: float, summary: str, **extra: Any
    ) -> None:
        fields = {k: (v.value if isinstance(v, Tier) else v) for k, v in extra.items() if v is not None}
        try:
            self.gate.authority.audit.append(
                "mcp.tool_call",
                tool=tool,
                scope=scope,
                outcome=outcome,
                result=result,
                summary=summary,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                **fields,
            )
        except AuditError:
            log.error("audit log unwritable while recording a call of %s", tool)
        if self.on_call is not None:
            self.on_call(tool, outcome if outcome == "deny" else result)


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = _content_length(headers)
        if declared is not None and declared > MAX_MCP_BODY_BYTES:
            await _json(send, 413, {"error": "request_too_large"})  # at once: nothing is read
            return
        token = _bearer(headers)
        if token is None:
            await self.app(scope, receive, send)  # the SDK answers 401 from the headers alone
            return
        # Authenticate from the headers before reading any body: without a valid token nobody makes the
        # daemon buffer megabytes. Only a small refused body is read, to answer with its request id.
        try:
            principal = self.gate.authenticate(token)
        except TokenError as exc:
            small = declared is not None and declared <= REFUSED_BODY_PEEK_BYTES
            body = await _read_body(receive, REFUSED_BODY_PEEK_BYTES) if small else None
            await self._unauthorized(exc.code, _request_id(body) if body else None)(send)
            return
        body = await _read_body(receive, MAX_MCP_BODY_BYTES)
        if body is None:
            await _json(send, 413, {"error": "request_too_large"})
            return
        if json_too_deep(body):
            await _json(send, 400, _parse_error(f"JSON nested deeper than {MAX_JSON_DEPTH} levels"))
            return
        refusal = self._refusal(principal, body)
        if refusal is not None:
            await refusal(send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if self.sessions is None or b"mcp-session-id" in headers:
            await self.app(scope, replay, send)
            return
        family_id = principal.family_id
        if not self.sessions.try_open(family_id):
            await _json(send, 429, _too_many_sessions(self.sessions.per_family, _request_id(body)))
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

    def _refusal(self, principal: Principal, body: bytes) -> Callable[[Send], Any] | None:
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
            if spec is None or spec.scope is None:
                continue
            if principal.scopes.get(spec.scope, Tier.DENY) is Tier.DENY:
                self._audit_refusal(principal.family_id, spec.name, spec.scope)
                return self._forbidden(spec.scope, spec.name, message.get("id"))
        return None

    def _audit_refusal(self, family_id: str, tool: str, scope: str) -> None:
        try:
            self.gate.authority.audit.append(
                "mcp.tool_call",
                tool=tool,
                scope=scope,
                outcome="deny",
                result="insufficient_scope",
                family_id=family_id,
                latency_ms=0.0,
            )
        except AuditError:
            log.error("audit log unwritable while refusing %s", tool)

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
            await _json(
                send,
                403,
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {
                        "code": INSUFFICIENT_SCOPE_ERROR_CODE,
                        "message": f"This token is not allowed to use {tool} (it needs scope {needed}).",
                        "data": {"error": "insufficient_scope", "scope": needed, "tool": tool},
                    },
                },
                [(b"www-authenticate", challenge.encode())],
            )

        return respond


def _bearer(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, rest = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else None


def _content_length(headers: dict[bytes, bytes]) -> int | None:
    raw = headers.get(b"content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return MAX_MCP_BODY_BYTES + 1  # unreadable: treat as too large


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
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


def _parse_error(message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": message}}


def _too_many_sessions(limit: int, request_id: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": TOO_MANY_SESSIONS_ERROR_CODE,
            "message": f"This token already has {limit} open MCP sessions; close one (or let it expire) first.",
            "data": {"error": "too_many_sessions", "limit": limit},
        },
    }


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
