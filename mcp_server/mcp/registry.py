"""The tool registry: every tool's required scope, MCP annotations and approval summary, in one place.

Tool functions (in ``tools/*``) contain no authorization code; the registry says what each needs and the
enforcement layer (``enforcement.py``) applies it through the daemon's gate.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata, func_metadata
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from auth.prepared import PreparedRequest, PrepareError, prepare
from auth.untrusted import neutralise
from mcp_server.errors import tool_error_text

Summarize = Callable[[Mapping[str, Any]], str]

PROMPT_NOTE = " A person on the host approves each call of this tool before it runs; it may take a while."


@dataclass(frozen=True)
class PreparedCall:
    """A tool call prepared before its decision: what the prompt shows and binds to, and (for tools that
    run what they prepared) the function that runs exactly it."""

    request: PreparedRequest
    run: Callable[[], Any] | None = None  # None: the SDK calls the tool with the same validated arguments


Prepare = Callable[[dict[str, Any]], PreparedCall]

# The prepared call of the tools/call being run (set by the enforcement layer around the tool).
current_prepared: ContextVar[PreparedCall | None] = ContextVar("agent_auth_prepared", default=None)
# Keyed by the function itself (weakly): an id() can be reused once a function is gone.
_METADATA: weakref.WeakKeyDictionary[Callable[..., Any], FuncMetadata] = weakref.WeakKeyDictionary()


def run_prepared() -> Any:
    """Run the request prepared (and, at the prompt tier, approved) for this call — nothing else."""
    call = current_prepared.get()
    if call is None or call.run is None:
        raise ToolError(tool_error_text("not_prepared", "this call was not prepared by the gate, so nothing ran"))
    return call.run()


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _default_summary(name: str) -> Summarize:
    return lambda args: f"{name}({', '.join(sorted(args))})" if args else name


@dataclass(frozen=True)
class ToolSpec:
    name: str
    fn: Callable[..., Any]
    scope: str | None  # None: any valid token (e.g. whoami)
    description: str
    title: str | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False
    summarize: Summarize | None = None
    structured_output: bool | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    prepare: Prepare | None = None  # arguments (validated) → what will happen; None: the arguments as rows
    prepare_blocks: bool = False  # prepare reads a database or runs a subprocess: run it off the event loop

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )

    def summary(self, args: Mapping[str, Any]) -> str:
        """The call's one-line summary; agent text in it (argument names and values) is neutralised here."""
        try:
            return neutralise((self.summarize or _default_summary(self.name))(args))
        except Exception:  # a summary must never break a call; fall back to the tool name
            return self.name

    @cached_property
    def _argument_model(self) -> tuple[FuncMetadata, frozenset[str]]:
        """The SDK's argument model of ``fn`` and its argument names (worked out once per spec)."""
        meta = _METADATA.get(self.fn)
        if meta is None:
            meta = _METADATA[self.fn] = func_metadata(self.fn)
        return meta, frozenset(meta.arg_model.model_fields)

    def validate_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The tool's arguments checked as the SDK will check them, plus: no unknown names."""
        meta, known = self._argument_model
        if not known.issuperset(arguments):
            unknown = sorted(set(arguments) - known)
            raise PrepareError(f"{self.name} has no argument(s) {', '.join(map(repr, unknown))[:200]}")
        try:
            return meta.validate_arguments(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise PrepareError(f"invalid arguments for {self.name}: {problems}"[:500]) from None

    def prepared_call(self, arguments: Mapping[str, Any]) -> PreparedCall:
        """Validate, then prepare: the tool's own ``prepare``, else its arguments as labelled rows."""
        kwargs = self.validate_arguments(arguments)
        if self.prepare is not None:
            return self.prepare(kwargs)
        rows = [(name, _shown(value)) for name, value in sorted(arguments.items())]
        return PreparedCall(prepare(self.name, self.summary(arguments), rows, dict(arguments)))


class ToolRegistry:
    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ToolSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"tool {spec.name!r} registered twice")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def __iter__(self) -> Any:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def known_scopes(self) -> dict[str, dict[str, Any]]:
        """Scopes the tools need, with the tools that need each (for pickers and `scopes.known`)."""
        scopes: dict[str, dict[str, Any]] = {}
        for spec in self._specs.values():
            if spec.scope is None:
                continue
            entry = scopes.setdefault(
                spec.scope,
                {"scope": spec.scope, "description": "", "tools": [], "system": False, "suggested_tier": "allow"},
            )
            entry["tools"].append(spec.name)
            if not spec.read_only:
                entry["suggested_tier"] = "prompt"
            entry["description"] = "needed by " + ", ".join(entry["tools"])
        return scopes
