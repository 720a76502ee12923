"""``agent-auth approvals …``: pending prompt-tier requests and live grants, on the trusted channel.

``list`` shows what is waiting with every labelled row of its details view (and the caller's own words
apart); ``approve ID --waiters N`` binds the decision to the count of identical calls you saw; ``grants``
lists live time-boxed grants with the time left and ``revoke GRANT_ID`` ends one early. Everything goes
over the running daemon's admin socket; ``--json`` prints the daemon's answers as they are.
"""

from __future__ import annotations

import argparse
from typing import Any

from auth.untrusted import clip, neutralise
from mcp_server.cli import format as fmt
from mcp_server.cli.app import Application


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    approvals = sub.add_parser(
        "approvals",
        help="list, approve or deny prompt-tier requests; list and end time-boxed grants",
        description="Prompt-tier requests waiting for a person, and the live time-boxed grants.",
    )
    asub = approvals.add_subparsers(dest="approvals_command", required=True, metavar="COMMAND")
    lst = asub.add_parser("list", parents=[common], help="list pending requests with everything they would do")
    lst.set_defaults(handler=cmd_list)
    approve = asub.add_parser("approve", parents=[common], help="approve one pending request (once)")
    approve.add_argument("approval_id", metavar="ID")
    approve.add_argument(
        "--waiters", type=int, default=None, metavar="N", help="the identical-call count 'list' showed you"
    )
    approve.add_argument("--minutes", type=int, default=None, help="approve for N minutes (a narrow grant)")
    approve.set_defaults(handler=cmd_approve)
    deny = asub.add_parser("deny", parents=[common], help="deny one pending request")
    deny.add_argument("approval_id", metavar="ID")
    deny.set_defaults(handler=cmd_deny)
    grants = asub.add_parser("grants", parents=[common], help="list live time-boxed grants with the time left")
    grants.set_defaults(handler=cmd_grants)
    revoke = asub.add_parser("revoke", parents=[common], help="end a time-boxed grant now")
    revoke.add_argument("grant_id", metavar="GRANT_ID")
    revoke.set_defaults(handler=cmd_revoke)


def _call(app: Application, method: str, **params: Any) -> Any:
    import anyio  # when the command runs, not at every start of the CLI

    from auth.admin_client import call_once

    path = app.settings.admin_socket_path

    async def go() -> Any:
        return await call_once(path, method, **params)

    return anyio.run(go)


def describe(approval: dict[str, Any]) -> str:
    lines = [
        f"{approval['id']}  {clip(str(approval.get('label') or approval['family_id']), 40)}  "
        f"{approval['scope']}  {clip(str(approval.get('operation')), 60)}  expires {fmt.when(approval['expires_at'])}",
        f"  {clip(str(approval.get('summary')), 200)}",
    ]
    if int(approval.get("waiters") or 0) > 1:
        lines.append(f"  {approval['waiters']} identical calls wait on this request (approve with --waiters)")
    for row in approval.get("details") or []:
        value = neutralise(str(row["value"]), multiline=True).replace("\n", "\n      ")
        cut = f" … [{row['truncated']} more characters not shown]" if row.get("truncated") else ""
        lines.append(f"    {neutralise(str(row['label']))}: {value}{cut}")
    if approval.get("claim"):
        lines.append(f"    the caller says (its own words, not checked): {clip(str(approval['claim']), 300)}")
    return "\n".join(lines)


def cmd_list(app: Application, args: argparse.Namespace) -> int:
    pending = list(_call(app, "approvals.list")["pending"])
    app.emit(pending, "\n\n".join(describe(a) for a in pending) if pending else "nothing is waiting")
    return 0


def cmd_approve(app: Application, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"approval_id": args.approval_id, "decision": "approve"}
    if args.waiters is not None:
        params["seen_waiters"] = args.waiters
    if args.minutes is not None:
        params.update(grant="timed", duration_minutes=args.minutes)
    decided = _call(app, "approvals.decide", **params)
    app.emit(decided, f"approved {decided['id']}" + (f" for {args.minutes} min" if args.minutes else " once"))
    return 0


def cmd_deny(app: Application, args: argparse.Namespace) -> int:
    decided = _call(app, "approvals.decide", approval_id=args.approval_id, decision="deny")
    app.emit(decided, f"denied {decided['id']}")
    return 0


def cmd_grants(app: Application, args: argparse.Namespace) -> int:
    grants = list(_call(app, "grants.list")["grants"])
    text = "\n".join(
        f"{g['id']}  {clip(str(g.get('label') or g['family_id']), 40)}  {g['scope']}  covers {g['surface']} "
        f"{clip(str(g['target']), 60)}  {int(g['seconds_left']) // 60} min {int(g['seconds_left']) % 60} s left"
        for g in grants
    )
    app.emit(grants, text or "no time-boxed grant is live")
    return 0


def cmd_revoke(app: Application, args: argparse.Namespace) -> int:
    revoked = _call(app, "grants.revoke", grant_id=args.grant_id)
    app.emit(revoked, f"ended grant {revoked['id']} ({revoked['scope']} for {revoked['surface']} {revoked['target']})")
    return 0
