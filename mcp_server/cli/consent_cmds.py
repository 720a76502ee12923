"""``agent-auth consent …``: answer an MCP client's OAuth authorization on the trusted channel.

The client's browser page shows a matching code; ``consent approve CODE`` finds the pending consent by that
code (so the person approves what their browser shows, not another request filed at the same time), sets a
tier per scope and names the family. Everything goes over the running daemon's admin socket.
"""

from __future__ import annotations

import argparse
from typing import Any

from auth.scopes import parse_scope_spec
from auth.untrusted import clip
from mcp_server.cli import format as fmt
from mcp_server.cli.app import Application, UserError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    consent = sub.add_parser(
        "consent",
        help="approve or deny an MCP client's OAuth sign-in (matching code from the browser)",
        description="Answer OAuth authorizations of MCP clients. The client's browser page shows a matching "
        "code; approve only the consent with that code.",
    )
    csub = consent.add_subparsers(dest="consent_command", required=True, metavar="COMMAND")
    lst = csub.add_parser("list", parents=[common], help="list consents waiting for a decision")
    lst.set_defaults(handler=cmd_list)

    approve = csub.add_parser(
        "approve",
        parents=[common],
        help="approve the consent whose matching code is CODE",
        description="Approve a consent. Without --scope each scope the client asked for gets its suggested "
        "tier (reads allow, writes and signing prompt). --scope SCOPE=TIER changes one scope's tier or adds a "
        "scope the client did not ask for; SCOPE=deny keeps a scope out.",
        epilog="example: agent-auth consent approve K7P-4QX --scope things:write=deny --label 'Claude Code'",
    )
    approve.add_argument("code", metavar="CODE", help="the matching code shown on the browser page")
    approve.add_argument("--scope", "-s", action="append", default=[], metavar="SCOPE=TIER", help="(repeatable)")
    approve.add_argument("--label", "-l", help="name of the token family (default: the client's name)")
    approve.set_defaults(handler=cmd_approve)

    deny = csub.add_parser("deny", parents=[common], help="deny the consent whose matching code is CODE")
    deny.add_argument("code", metavar="CODE", help="the matching code (or the consent id)")
    deny.set_defaults(handler=cmd_deny)


# anyio and the OAuth store (SQLAlchemy) are imported when a consent command runs, not at every CLI start:
# `agent-auth token header` and `status` share this parser and start on every MCP connection.


def _call(app: Application, method: str, **params: Any) -> Any:
    import anyio

    from auth.admin_client import call_once

    path = app.settings.admin_socket_path

    async def go() -> Any:
        return await call_once(path, method, **params)

    return anyio.run(go)


def _pending(app: Application) -> list[dict[str, Any]]:
    return list(_call(app, "consent.list")["pending"])


def _find(app: Application, code: str) -> dict[str, Any]:
    from auth.oauth_store import normalise_matching_code

    wanted = normalise_matching_code(code)
    for consent in _pending(app):
        if consent["consent_id"] == code or normalise_matching_code(consent["matching_code"]) == wanted:
            return consent
    raise UserError(
        f"no pending consent with code {clip(code, 20)}",
        code="consent_not_found",
        hint="'agent-auth consent list' shows pending consents; an unanswered one expires after a few minutes",
    )


def _describe(consent: dict[str, Any]) -> str:
    remote = "" if consent.get("redirect_is_loopback") else "  (REMOTE host, not this computer)"
    lines = [
        f"code        {consent['matching_code']}",
        f"client      {clip(str(consent['client_name']), 80)}",
        f"returns to  {clip(str(consent['redirect_host']), 80)}{remote}",
        f"expires     {fmt.when(consent['expires_at'])}",
        "scopes asked for",
    ]
    for choice in consent.get("scope_choices", []):
        if choice["requested"]:
            tools = ", ".join(choice["tools"]) or "no tool known to this daemon"
            lines.append(f"  {choice['scope']:<24} suggested {choice['suggested_tier']:<7} {tools}")
    return "\n".join(lines)


def cmd_list(app: Application, args: argparse.Namespace) -> int:
    pending = _pending(app)
    text = "\n\n".join(_describe(c) for c in pending) if pending else "no consents are waiting"
    app.emit(pending, text)
    return 0


def cmd_approve(app: Application, args: argparse.Namespace) -> int:
    consent = _find(app, args.code)
    params: dict[str, Any] = {
        "consent_id": consent["consent_id"],
        "decision": "approve",
        "matching_code": args.code,
        "decided_by": "cli",
    }
    if args.scope:
        chosen = {c["scope"]: c["suggested_tier"] for c in consent["scope_choices"] if c["requested"] and c["known"]}
        try:
            for spec in args.scope:
                scope, tier = parse_scope_spec(spec)
                chosen[scope] = tier.value
        except ValueError as exc:
            raise UserError(str(exc), code="invalid_scope") from None
        params["scopes"] = chosen
    if args.label:
        params["label"] = args.label
    decided = _call(app, "consent.decide", **params)
    scopes = (decided.get("decision") or {}).get("scopes", {})
    text = f"approved {decided['matching_code']} for {clip(str(decided['client_name']), 80)}; the family gets:\n"
    text += "\n".join(f"  {name:<24} {tier}" for name, tier in sorted(scopes.items()))
    app.emit(decided, text)
    return 0


def cmd_deny(app: Application, args: argparse.Namespace) -> int:
    consent = _find(app, args.code)
    decided = _call(app, "consent.decide", consent_id=consent["consent_id"], decision="deny", decided_by="cli")
    app.emit(decided, f"denied {decided['matching_code']} for {clip(str(decided['client_name']), 80)}")
    return 0
