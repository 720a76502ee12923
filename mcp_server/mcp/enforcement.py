"""Enforcement of tool scopes, in one place, for every MCP transport.

Two layers, both using the identity the edge established once for the request
(``mcp_server.daemon.edge``) and the gate's one decision function:

- :class:`~mcp_server.mcp.http_gate.McpHttpGate` (ASGI, around ``/mcp``, in ``http_gate.py``): a
  ``tools/call`` of a tool whose scope the token lacks or holds at ``deny`` is answered ``403`` before the SDK
  sees it — the tool body never runs. The refusal is recorded.
- :class:`GateMiddleware` (the SDK's server middleware): filters ``tools/list`` per principal, and for
  ``tools/call`` admits the call through the gate (allow / prompt — waiting for a person, sending progress
  so the client keeps the call alive — / deny). The gate writes the call's one ``decision`` record before
  the tool runs (unwritable → the call is refused); the run's outcome follows as ``call.result``. A call
  cancelled while waiting or running is recorded as cancelled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ListToolsResult, TextContent
from pydantic import ValidationError

from auth.approvals import PendingApproval
from auth.gate import Decision, Gate
from auth.prepared import PrepareError
from auth.principal import EdgeIdentity, Principal
from auth.scopes import Tier
from mcp_server.daemon.edge import identity_of
from mcp_server.errors import (
    tool_error_text,
)
from mcp_server.mcp.caller_presence import CallerPresence, presence_of
from mcp_server.mcp.registry import PROMPT_NOTE, PreparedCall, ToolRegistry, ToolSpec, current_prepared

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 5.0

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
