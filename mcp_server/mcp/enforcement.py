"""Enforcement of tool scopes, in one place, for every MCP transport.

Two layers, both using the identity the edge established once for the request
(``mcp_server.daemon.edge``) and the gate's one decision function:

- :class:`McpHttpGate` (ASGI, around ``/mcp``): a ``tools/call`` of a tool whose scope the token lacks or
  holds at ``deny`` is answered ``403`` with ``WWW-Authenticate: Bearer error="insufficient_scope",
  scope="…"`` before the SDK sees it — the tool body never runs. The refusal is recorded.
- :class:`GateMiddleware` (the SDK's server middleware): filters ``tools/list`` per principal, and for
  ``tools/call`` admits the call through the gate (allow / prompt — waiting for a person, sending progress
  so the client keeps the call alive — / deny). The gate writes the call's one ``decision`` record before
  the tool runs (unwritable → the call is refused); the run's outcome follows as ``call.result``. A call
  cancelled while waiting or running is recorded as cancelled.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, NamedTuple

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PROTOCOL_VERSION_HEADER, decode_header_value
from mcp.types import CallToolResult, ListToolsResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.approvals import PendingApproval
from auth.gate import Decision, Gate
from auth.prepared import PrepareError
from auth.principal import EdgeIdentity, Principal
from auth.scopes import Tier
from mcp_server.daemon.edge import identity_of
from mcp_server.daemon.http import MAX_JSON_DEPTH, json_too_deep
from mcp_server.errors import (
    JSONRPC_INSUFFICIENT_SCOPE,
    JSONRPC_TOO_MANY_SESSIONS,
    http_status,
    jsonrpc_error,
    tool_error_text,
)
from mcp_server.mcp.caller_presence import CallerPresence, presence_of
from mcp_server.mcp.refusals import token_refused_error
from mcp_server.mcp.registry import PROMPT_NOTE, PreparedCall, ToolRegistry, ToolSpec, current_prepared
from mcp_server.mcp.session_limits import SessionLimiter

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 5.0
MAX_MCP_BODY_BYTES = 4 * 1024 * 1024
REFUSED_BODY_PEEK_BYTES = 16 * 1024
_SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.encode("ascii")
_METHOD_HEADER = MCP_METHOD_HEADER.encode("ascii")
_NAME_HEADER = MCP_NAME_HEADER.encode("ascii")
TOO_MANY_SESSIONS_ERROR_CODE = JSONRPC_TOO_MANY_SESSIONS
# The stable code for callers is ``data.error == "insufficient_scope"``.
INSUFFICIENT_SCOPE_ERROR_CODE = JSONRPC_INSUFFICIENT_SCOPE

TokenSource = Callable[[ServerRequestContext[Any, Any]], str | None]
IdentitySource = Callable[[ServerRequestContext[Any, Any]], EdgeIdentity]

# The principal of the tools/call being run, for tools that describe the caller (whoami).
current_principal: ContextVar[Principal | None] = ContextVar("agent_auth_principal", default=None)
# Details a tool adds to its call's ``call.result`` record (e.g. the fingerprint that signed).
_result_details: ContextVar[dict[str, Any] | None] = ContextVar("agent_auth_result_details", default=None)


def note_result(**details: Any) -> None:
    """Add fields to the ``call.result`` record of the tools/call being run (ids, hashes; never secrets)."""
    noted = _result_details.get()
    if noted is not None:
        noted.update(details)


DENIED_MESSAGES = {
    "scope_denied": "This token is not allowed to use {tool} (it needs scope {scope}). Ask the person who "
    "runs agent-auth to grant it; do not retry.",
    "rate_limited": "Too many calls for this token; wait {retry}s and try again.",
    "declined": "The call to {tool} was declined by the user; do not retry without asking them first.",
    "timeout": "Nobody approved the call to {tool} in time, so it did not run; ask the user before retrying.",
    "too_many_pending": "Too many calls are already waiting for approval; wait for them to be decided.",
    "audit_unavailable": "The host cannot record this call right now, so {tool} did not run; tell the user.",
    "missing_token": "This server needs an agent-auth access token.",
    "invalid_token": "The access token is not valid ({code}); refresh it or ask for a new one.",
}
_APPROVAL_MESSAGE = {"denied": "declined", "timeout": "timeout", "cancelled": "timeout", "withdrawn": "timeout"}


def bearer_from_request(ctx: ServerRequestContext[Any, Any]) -> str | None:
    request = ctx.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    scheme, _, value = str(headers.get("authorization", "")).partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def identity_from_request(gate: Gate) -> IdentitySource:
    """The identity the HTTP edge left in the request scope (over HTTP: no second authentication)."""

    def source(ctx: ServerRequestContext[Any, Any]) -> EdgeIdentity:
        scope = getattr(ctx.request, "scope", None)
        if isinstance(scope, dict):
            return identity_of(scope, gate)
        return gate.identify(bearer_from_request(ctx))

    return source


def identity_from_token(gate: Gate, token_source: TokenSource) -> IdentitySource:
    """For transports without an HTTP edge (in memory): identify the token once per request."""
    return lambda ctx: gate.identify(token_source(ctx))


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


def refusal_message(spec: ToolSpec, decision: Decision) -> str:
    code = decision.code or "scope_denied"
    key = code
    if decision.approval is not None and not decision.approval.approved:
        key = _APPROVAL_MESSAGE.get(decision.approval.reason, decision.approval.reason)
    if code in ("invalid_token", "token_expired", "token_revoked", "family_revoked"):
        key = "invalid_token"
    template = DENIED_MESSAGES.get(key, DENIED_MESSAGES["scope_denied"])
    return template.format(tool=spec.name, scope=spec.scope, code=code, retry=int(decision.retry_after_seconds or 1))


def _failed(result: HandlerResult) -> bool:
    return (isinstance(result, CallToolResult) and result.is_error) or (
        isinstance(result, dict) and result.get("isError") is True
    )


class GateMiddleware:
    def __init__(self, gate: Gate, registry: ToolRegistry, identity_source: IdentitySource) -> None:
        self.gate = gate
        self.registry = registry
        self.identity_source = identity_source
        self.on_call: Callable[[str, str], None] | None = None  # (tool, outcome) for metrics
        self.presence: CallerPresence | None = None  # over HTTP: withdraw a wait whose caller has gone

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/list":
            return self._filter_list(ctx, await call_next(ctx))
        if ctx.method == "tools/call":
            return await self._call(ctx, call_next)
        return await call_next(ctx)

    # --- tools/list ----------------------------------------------------------------------------

    def _filter_list(self, ctx: ServerRequestContext[Any, Any], result: HandlerResult) -> HandlerResult:
        identity = self.identity_source(ctx)
        listed = _list_result(result)
        if listed is None:
            log.error("tools/list returned an unexpected shape; listing no tools")
            return ListToolsResult(tools=[])
        if not isinstance(identity, Principal):
            # No principal: fail closed. A token that was once valid still sees whoami (it says why).
            keep = identity.code != "missing_token"
            return listed.model_copy(update={"tools": [t for t in listed.tools if keep and self._unscoped(t.name)]})
        visible = []
        for tool in listed.tools:
            spec = self.registry.get(tool.name)
            if spec is None:
                continue  # unknown to the registry: fail closed
            tier = Tier.ALLOW if spec.scope is None else identity.tier(spec.scope)
            if tier is Tier.ALLOW:
                visible.append(tool)
            elif tier is Tier.PROMPT:
                visible.append(tool.model_copy(update={"description": (tool.description or "") + PROMPT_NOTE}))
        return listed.model_copy(update={"tools": visible})

    def _unscoped(self, name: str) -> bool:
        spec = self.registry.get(name)
        return spec is not None and spec.scope is None

    # --- tools/call ----------------------------------------------------------------------------

    async def _call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        started = time.perf_counter()
        params = ctx.params or {}
        name = params.get("name")
        arguments = params.get("arguments") or {}
        spec = self.registry.get(name) if isinstance(name, str) else None
        if spec is None:
            return await call_next(ctx)  # the SDK answers "unknown tool"
        args = arguments if isinstance(arguments, dict) else {}
        identity = self.identity_source(ctx)
        decision = self.gate.decide(identity, spec.scope, surface="mcp", target=spec.name)
        prepared: PreparedCall | None = None
        if spec.scope is not None and (decision.allowed or decision.needs_approval):
            try:
                prepared = await self._prepare(spec, args)
            except (PrepareError, ToolError) as exc:
                # Refused before any prompt: arguments that fail validation never reach a person.
                code = exc.reason if isinstance(exc, PrepareError) else "invalid_arguments"
                refused = replace(decision, allowed=False, code=code, detail=str(exc)[:200])
                written = self.gate.record_decision(
                    refused, surface="mcp", target=spec.name, scope=spec.scope, started=started
                )
                self._count(spec.name, "deny")
                if written.code == "audit_unavailable":
                    return _tool_error(refusal_message(spec, written))
                return _tool_error(tool_error_text(code, f"{exc}; nothing was asked or run"))
        decision = await self._conclude(ctx, identity, decision, spec, prepared, started)
        if not decision.allowed:
            self._count(spec.name, "deny")
            return _tool_error(refusal_message(spec, decision))
        details: dict[str, Any] = dict(prepared.request.extra) if prepared is not None else {}
        reset = current_principal.set(identity if isinstance(identity, Principal) else None)
        reset_details = _result_details.set(details)
        reset_prepared = current_prepared.set(prepared)
        try:
            result = await call_next(ctx)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                self.gate.record_result(decision, "cancelled", started=started, **details)
            raise
        except BaseException:
            self.gate.record_result(decision, "error", started=started, **details)
            raise
        finally:
            current_principal.reset(reset)
            _result_details.reset(reset_details)
            current_prepared.reset(reset_prepared)
        outcome = "tool_error" if _failed(result) else "ok"
        self._count(spec.name, outcome)
        if not self.gate.record_result(decision, outcome, started=started, **details):
            withheld = f"{spec.name} ran, but the host could not record its result, so it is withheld; tell the user"
            return _tool_error(tool_error_text("audit_unavailable", withheld))
        return result

    async def _prepare(self, spec: ToolSpec, args: dict[str, Any]) -> PreparedCall:
        if spec.prepare_blocks:
            return await anyio.to_thread.run_sync(spec.prepared_call, args)
        return spec.prepared_call(args)

    async def _conclude(
        self,
        ctx: ServerRequestContext[Any, Any],
        identity: EdgeIdentity,
        decision: Decision,
        spec: ToolSpec,
        prepared: PreparedCall | None,
        started: float,
    ) -> Decision:
        if not decision.needs_approval:
            return await self.gate.conclude(
                identity,
                decision,
                spec.scope,
                surface="mcp",
                target=spec.name,
                prepared=prepared.request if prepared is not None else None,
                started=started,
            )
        done = anyio.Event()

        async def keep_alive(approval: PendingApproval) -> None:
            async def loop() -> None:
                waited = 0.0
                while not done.is_set():
                    remaining = max(0, int(approval.expires_at - time.time()))
                    await ctx.session.report_progress(
                        waited, None, f"waiting for a person to approve {spec.name} ({remaining}s left)"
                    )
                    with anyio.move_on_after(PROGRESS_INTERVAL_SECONDS):
                        await done.wait()
                    waited += PROGRESS_INTERVAL_SECONDS

            task_group.start_soon(loop)

        presence = presence_of(ctx.request)
        caller_gone = anyio.Event()
        async with anyio.create_task_group() as task_group:
            if presence is not None and self.presence is not None:
                watcher = self.presence

                async def watch_caller() -> None:
                    await watcher.wait_until_gone(presence)
                    caller_gone.set()  # nobody is left to receive a result: the approval is withdrawn

                task_group.start_soon(watch_caller)
            try:
                decision = await self.gate.conclude(
                    identity,
                    decision,
                    spec.scope,
                    surface="mcp",
                    target=spec.name,
                    prepared=prepared.request if prepared is not None else None,
                    on_pending=keep_alive,
                    caller_gone=caller_gone,
                    started=started,
                )
            finally:
                done.set()
                task_group.cancel_scope.cancel()
        return decision

    def _count(self, tool: str, outcome: str) -> None:
        if self.on_call is not None:
            self.on_call(tool, outcome)


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
            body = await _read_body(receive, REFUSED_BODY_PEEK_BYTES) if small else None
            await self._unauthorized(principal.code, _request_id(body) if body else None)(send)
            return
        body = await _read_body(receive, MAX_MCP_BODY_BYTES)
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
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

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
