"""Scopes and tiers.

A scope is ``app:resource[:action]``: two or three parts of lowercase letters, digits, ``-`` and ``_``.
Each scope a family holds has a tier: ``allow`` (run now), ``prompt`` (a person approves each use) or
``deny``. A scope a family does not hold behaves like ``deny``. Scopes under ``agent-auth:`` are reserved
for the system.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

from auth.errors import InvalidScopeError, ReservedScopeError

SCOPE_MAX_LENGTH = 128
RESERVED_APP = "agent-auth"
_PART = r"[a-z0-9_-]+"
_SCOPE_RE = re.compile(rf"\A{_PART}:{_PART}(?::{_PART})?\Z")


class Tier(enum.StrEnum):
    ALLOW = "allow"
    PROMPT = "prompt"
    DENY = "deny"


def validate_scope(scope: object) -> str:
    """Return ``scope`` if it follows the grammar, else raise :class:`InvalidScopeError`."""
    if not isinstance(scope, str):
        raise InvalidScopeError("a scope must be a string like 'things:read'")
    if len(scope) > SCOPE_MAX_LENGTH or not _SCOPE_RE.match(scope):
        shown = scope if len(scope) <= 60 and scope.isprintable() else repr(scope[:60])
        raise InvalidScopeError(
            f"invalid scope {shown}: use app:resource[:action] with lowercase letters, digits, '-' and '_'"
        )
    return scope


def is_reserved(scope: str) -> bool:
    return scope.split(":", 1)[0] == RESERVED_APP


def parse_tier(value: object) -> Tier:
    try:
        return Tier(str(value))
    except ValueError:
        raise InvalidScopeError(f"invalid tier {value!r}: use allow, prompt or deny") from None


def parse_scope_spec(
    spec: object, *, allow_reserved: bool = False, default_tier: Tier = Tier.ALLOW
) -> tuple[str, Tier]:
    """Parse ``NAME`` or ``NAME=tier``; a bare name means ``default_tier`` (``allow`` in the seed's API,
    ``prompt`` where a person types scopes)."""
    if not isinstance(spec, str):
        raise InvalidScopeError("a scope must be a string like 'things:read' or 'things:write=prompt'")
    name, sep, tier_text = spec.partition("=")
    scope = validate_scope(name.strip())
    if not allow_reserved and is_reserved(scope):
        raise ReservedScopeError(
            f"scope {scope!r} is reserved for the system and cannot be granted with 'token create'"
        )
    return scope, (parse_tier(tier_text.strip()) if sep else default_tier)


def parse_scope_specs(
    specs: Iterable[str], *, allow_reserved: bool = False, default_tier: Tier = Tier.ALLOW
) -> dict[str, Tier]:
    """Parse a list of ``NAME[=tier]`` specs; reserved scopes only with ``allow_reserved``."""
    if isinstance(specs, str | bytes):
        # A bare string is iterable too, one character at a time: refuse it rather than misread it.
        raise InvalidScopeError("scopes must be given as a list of 'NAME[=tier]' strings")
    result: dict[str, Tier] = {}
    for spec in specs:
        scope, tier = parse_scope_spec(spec, allow_reserved=allow_reserved, default_tier=default_tier)
        if scope in result and result[scope] is not tier:
            raise InvalidScopeError(f"scope {scope!r} is given twice with different tiers")
        result[scope] = tier
    return result


def validate_scope_map(scopes: Mapping[str, object], *, allow_reserved: bool = False) -> dict[str, Tier]:
    result: dict[str, Tier] = {}
    for name, tier in scopes.items():
        scope = validate_scope(name)
        if not allow_reserved and is_reserved(scope):
            raise ReservedScopeError(f"scope {scope!r} is reserved for the system")
        result[scope] = parse_tier(tier)
    return result


def tier_of(scopes: Mapping[str, Tier], required_scope: str) -> Tier:
    """Exact-match lookup; an absent scope is ``deny``."""
    return scopes.get(required_scope, Tier.DENY)


# A scope that holds another: a family with the key scope and without the value scope is treated as holding
# the value scope at the key's tier. A family that names the value scope (any tier, deny included) keeps it.
IMPLIED_SCOPES: Mapping[str, str] = {"gpg:sign": "gpg:verify"}


def effective_scopes(scopes: dict[str, Tier]) -> dict[str, Tier]:
    """``scopes`` plus what they imply (``gpg:sign`` implies ``gpg:verify``, as in the seed).

    Returns ``scopes`` itself when nothing is implied, so the common case costs no copy on the hot path.
    """
    missing = {
        implied: scopes[holder]
        for holder, implied in IMPLIED_SCOPES.items()
        if holder in scopes and implied not in scopes
    }
    return {**scopes, **missing} if missing else scopes
