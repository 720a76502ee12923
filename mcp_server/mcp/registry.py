"""The tool registry: every tool's required scope, MCP annotations and approval summary, in one place.

Tool functions (in ``tools/*``) contain no authorization code; the registry says what each needs and the
enforcement layer (``enforcement.py``) applies it through the daemon's gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.types import ToolAnnotations

from auth.untrusted import neutralise

Summarize = Callable[[Mapping[str, Any]], str]

PROMPT_NOTE = " A person on the host approves each call of this tool before it runs; it may take a while."


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
