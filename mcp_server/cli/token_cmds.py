"""``agent-auth token …``: the token family lifecycle."""

from __future__ import annotations

import argparse
import sys

from auth.families import DEFAULT_ACCESS_TTL_SECONDS, DEFAULT_REFRESH_TTL_SECONDS
from auth.scopes import Tier, parse_scope_spec, parse_scope_specs, parse_tier, validate_scope
from mcp_server.cli import format as fmt
from mcp_server.cli.app import Application
from mcp_server.cli.scope_entry import require_known, resolve_family

TOKENS_SHOWN_ONCE_NOTICE = (
    "These tokens are shown once and are not stored in readable form. Keep them secret: anyone holding "
    "them can act with these scopes until they expire or the family is revoked."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    token = sub.add_parser(
        "token",
        help="create, inspect, change, revoke and rotate token families",
        description="Manage token families (an access/refresh token pair with scopes).",
    )
    tsub = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")

    create = tsub.add_parser(
        "create",
        parents=[common],
        help="create a token family and print its tokens once",
        description="Create a token family. Tiers: allow (runs at once), prompt (a person approves each "
        "use; the tier of a scope given without '=TIER'), deny (the tool is hidden). Scopes the daemon does not "
        "know are refused, with the list of known ones.",
        epilog="example: agent-auth token create --scope things:read=allow --scope things:write=prompt "
        "--label laptop-claude",
    )
    create.add_argument(
        "--scope",
        "-s",
        action="append",
        required=True,
        metavar="SCOPE[=TIER]",
        help="a scope such as things:read=allow or gpg:sign (prompt when no tier is given; repeatable)",
    )
    create.add_argument("--label", "-l", help="a name to recognise the family by (shown in approvals)")
    create.add_argument(
        "--access-ttl",
        type=int,
        default=DEFAULT_ACCESS_TTL_SECONDS,
        metavar="SECONDS",
        help=f"access token lifetime (default {DEFAULT_ACCESS_TTL_SECONDS})",
    )
    create.add_argument(
        "--refresh-ttl",
        type=int,
        default=DEFAULT_REFRESH_TTL_SECONDS,
        metavar="SECONDS",
        help=f"refresh token lifetime (default {DEFAULT_REFRESH_TTL_SECONDS})",
    )
    create.add_argument(
        "--allow-unknown-scope",
        action="store_true",
        help="accept scopes the daemon does not know (an integration it does not load)",
    )
    create.add_argument(
        "--allow-system-scopes",
        action="store_true",
        help="permit reserved agent-auth:* scopes (health, metrics, manage) for operator tokens",
    )
    create.set_defaults(handler=cmd_create)

    lst = tsub.add_parser(
        "list",
        parents=[common],
        help="list token families",
        description="List token families with their status and scopes.",
    )
    lst.add_argument("--active", action="store_true", help="hide revoked families")
    lst.set_defaults(handler=cmd_list)

    show = tsub.add_parser(
        "show",
        parents=[common],
        help="show one family",
        description="Show a family: scopes with tiers, label, times, expiry of the current pair.",
    )
    show.add_argument("family_id", metavar="FAMILY", help="family id, label, or unique id prefix")
    show.set_defaults(handler=cmd_show)

    modify = tsub.add_parser(
        "modify",
        parents=[common],
        help="add/remove scopes or change tiers (applies on the next check)",
        description="Change a family's scopes. Takes effect on the next check; no tokens are reissued.",
    )
    modify.add_argument("family_id", metavar="FAMILY", help="family id, label, or unique id prefix")
    modify.add_argument("--add-scope", action="append", default=[], metavar="SCOPE[=TIER]")
    modify.add_argument("--remove-scope", action="append", default=[], metavar="SCOPE")
    modify.add_argument("--set-tier", action="append", default=[], metavar="SCOPE=TIER")
    modify.add_argument("--allow-unknown-scope", action="store_true", help="accept scopes the daemon does not know")
    modify.set_defaults(handler=cmd_modify)

    revoke = tsub.add_parser(
        "revoke",
        parents=[common],
        help="revoke a family and all its tokens (idempotent)",
        description="Revoke a family: its access and refresh tokens stop working at once.",
    )
    revoke.add_argument("family_id", metavar="FAMILY", help="family id, label, or unique id prefix")
    revoke.set_defaults(handler=cmd_revoke)

    rotate = tsub.add_parser(
        "rotate",
        parents=[common],
        help="replace a family with a new one (same scopes), revoking the old",
        description="Create a new family with the same scopes, label and TTLs and revoke the old one, atomically.",
    )
    rotate.add_argument("family_id", metavar="FAMILY", help="family id, label, or unique id prefix")
    rotate.set_defaults(handler=cmd_rotate)

    from mcp_server.cli.client_cmds import add_token_header

    add_token_header(tsub, common)


def _print_issued(app: Application, issued_json: dict[str, object], title: str) -> None:
    text = "\n".join(
        [
            title,
            f"family         {issued_json['family_id']}",
            f"label          {issued_json['label'] or '-'}",
            f"access token   {issued_json['access_token']}",
            f"refresh token  {issued_json['refresh_token']}",
            f"expires in     {issued_json['expires_in']}s (access)",
        ]
    )
    app.emit(issued_json, text)
    if not app.json_output:
        sys.stderr.write(f"warning: {TOKENS_SHOWN_ONCE_NOTICE}\n")


def cmd_create(app: Application, args: argparse.Namespace) -> int:
    scopes = parse_scope_specs(args.scope, allow_reserved=args.allow_system_scopes, default_tier=Tier.PROMPT)
    require_known(app, scopes, allow_unknown=args.allow_unknown_scope, allow_system=args.allow_system_scopes)
    admin = app.admin()
    issued = admin.create_family(
        scopes, args.label, args.access_ttl, args.refresh_ttl, allow_reserved=args.allow_system_scopes
    )
    _print_issued(app, issued, "created token family")
    return 0


def cmd_list(app: Application, args: argparse.Namespace) -> int:
    families = app.admin().list_families()
    if args.active:
        families = [f for f in families if not f["revoked"]]
    rows = [
        [
            f["family_id"],
            f["label"] or "-",
            f["status"],
            fmt.when(f["created_at"]),
            fmt.when(f["last_used_at"]),
            ", ".join(f"{k}={v}" for k, v in f["scopes"].items()),
        ]
        for f in families
    ]
    text = (
        fmt.table(rows, ["FAMILY", "LABEL", "STATUS", "CREATED", "LAST USED", "SCOPES"])
        if rows
        else ("no token families yet; create one with: agent-auth token create --scope things:read")
    )
    app.emit({"families": families}, text)
    return 0


def cmd_show(app: Application, args: argparse.Namespace) -> int:
    info = app.admin().show_family(resolve_family(app, args.family_id))
    app.emit(info, fmt.family_detail_json(info))
    return 0


def cmd_modify(app: Application, args: argparse.Namespace) -> int:
    family_id = resolve_family(app, args.family_id)
    add = dict(parse_scope_spec(s, default_tier=Tier.PROMPT) for s in args.add_scope)
    require_known(app, add, allow_unknown=args.allow_unknown_scope)
    remove = [validate_scope(s) for s in args.remove_scope]
    set_tiers = {}
    for spec in args.set_tier:
        name, sep, tier = spec.partition("=")
        if not sep:
            from auth.errors import InvalidScopeError

            raise InvalidScopeError(f"--set-tier needs SCOPE=TIER, got {spec!r}")
        set_tiers[validate_scope(name)] = parse_tier(tier)
    info = app.admin().modify_family(family_id, add, remove, set_tiers)
    app.emit(info, "modified; takes effect on the next check\n" + fmt.family_detail_json(info))
    return 0


def cmd_revoke(app: Application, args: argparse.Namespace) -> int:
    info = app.admin().revoke_family(resolve_family(app, args.family_id))
    app.emit(info, f"family {info['family_id']} is revoked; its tokens no longer work")
    return 0


def cmd_rotate(app: Application, args: argparse.Namespace) -> int:
    family_id = resolve_family(app, args.family_id)
    issued = app.admin().rotate_family(family_id)
    _print_issued(app, issued, f"rotated: family {family_id} is revoked; its replacement:")
    return 0
