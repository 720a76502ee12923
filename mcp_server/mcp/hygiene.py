"""Protocol hygiene: what our own middleware answers looks exactly like what the SDK would have answered.

The SDK shapes a handler's result for the negotiated protocol version (a handshake-era session never sees
the 2026 fields ``ttlMs``, ``cacheScope``, ``resultType``; a 2026 result carries ``resultType`` and the
``serverInfo`` stamp), but it trusts a middleware that answers without calling on to shape its own result.
:class:`ProtocolHygiene` sits outermost and gives every model-typed result that shaping, so a filtered
``tools/list`` or a gate refusal matches an ungated server on the same SDK field for field.

It also answers ``prompts/get`` for a prompt that does not exist with ``-32602`` (invalid params), as the
SDK does for an unknown resource, instead of the SDK's code 0 with a logged traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import SERVER_INFO_META_KEY
from mcp_types import methods as spec_methods
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

PromptNames = Callable[[], Awaitable[set[str]]]


def shape_result(method: str, version: str, result: BaseModel, server_info: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` as the SDK would put it on the wire for ``method`` under protocol ``version``."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if method in spec_methods.SPEC_CLIENT_METHODS:
        try:
            dumped = spec_methods.serialize_server_result(method, version, dumped)
        except (KeyError, ValueError, ValidationError):
            log.exception("a middleware result for %s does not fit protocol %s", method, version)
            raise MCPError(INTERNAL_ERROR, "Handler returned an invalid result") from None
    if version in MODERN_PROTOCOL_VERSIONS:
        dumped.setdefault("resultType", "complete")
        meta = dumped.get("_meta")
        if not isinstance(meta, dict) or meta.get(SERVER_INFO_META_KEY) is None:
            dumped["_meta"] = {**(meta if isinstance(meta, dict) else {}), SERVER_INFO_META_KEY: dict(server_info)}
    return dumped


class ProtocolHygiene:
    def __init__(self, server_info: Mapping[str, Any], prompt_names: PromptNames) -> None:
        self.server_info = dict(server_info)
        self.prompt_names = prompt_names

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "prompts/get":
            name = (ctx.params or {}).get("name")
            if not isinstance(name, str) or name not in await self.prompt_names():
                raise MCPError(INVALID_PARAMS, "Unknown prompt")
        result = await call_next(ctx)
        if isinstance(result, BaseModel):
            return shape_result(ctx.method, ctx.protocol_version, result, self.server_info)
        return result
