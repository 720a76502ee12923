"""What a person types for scopes and families, checked before anything is created or changed.

Scopes must be ones the daemon knows (its integrations declare them): ``things:raed`` or ``calendar:read``
would otherwise be granted silently and never match a tool. Families are named by full id, by label or by
a unique id prefix (the TUI shows 12 characters).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from mcp_server.cli.app import Application, UserError

MIN_PREFIX_LENGTH = 4


def known_scopes(app: Application) -> set[str]:
    """The scopes of the integrations this installation ships, and any more the running daemon declares."""
    from auth.admin_client import daemon_running
    from mcp_server.integrations.gpg.wiring import SIGN_SCOPE, VERIFY_SCOPE
    from mcp_server.integrations.things.mcp_tools import READ_SCOPE, WRITE_SCOPE

    known = {READ_SCOPE, WRITE_SCOPE, SIGN_SCOPE, VERIFY_SCOPE}
    if daemon_running(app.settings.admin_socket_path):
        import anyio

        from auth.admin_client import call_once

        listed = anyio.run(lambda: call_once(app.settings.admin_socket_path, "scopes.known"))
        known |= {str(item["scope"]) for item in listed if isinstance(item, dict) and "scope" in item}
    return {s for s in known if not s.startswith("agent-auth:")}


def require_known(app: Application, scopes: Iterable[str], *, allow_unknown: bool, allow_system: bool = False) -> None:
    wanted = [s for s in scopes if not (allow_system and s.startswith("agent-auth:"))]
    if allow_unknown or not wanted:
        return
    known = known_scopes(app)
    unknown = [s for s in wanted if s not in known]
    if not unknown:
        return
    hints = []
    for scope in unknown:
        close = difflib.get_close_matches(scope, sorted(known), n=1, cutoff=0.75)
        hints.append(f"{scope} (did you mean {close[0]}?)" if close else scope)
    raise UserError(
        f"unknown scope{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}. Known: {', '.join(sorted(known))}",
        code="unknown_scope",
        hint="pass --allow-unknown-scope for an integration this daemon does not load",
    )


def resolve_family(app: Application, ref: str) -> str:
    """The full family id for an id, a label or a unique id prefix."""
    families: list[dict[str, Any]] = app.admin().list_families()
    ids = [str(f["family_id"]) for f in families]
    if ref in ids:
        return ref
    labelled = [f for f in families if f.get("label") == ref]
    live = [f for f in labelled if f.get("status") != "revoked"] or labelled
    if len(live) == 1:
        return str(live[0]["family_id"])
    candidates = [str(f["family_id"]) for f in live]
    if not candidates and len(ref) >= MIN_PREFIX_LENGTH:
        candidates = [i for i in ids if i.startswith(ref.lower())]
        if len(candidates) == 1:
            return candidates[0]
    if candidates:
        raise UserError(
            f"{ref!r} matches {len(candidates)} families: " + ", ".join(c[:12] for c in candidates),
            code="ambiguous_family",
            hint="use a longer id prefix (agent-auth token list shows them)",
        )
    raise UserError(
        f"no family has the id, label or id prefix {ref!r}",
        code="family_not_found",
        hint="agent-auth token list shows every family",
    )
