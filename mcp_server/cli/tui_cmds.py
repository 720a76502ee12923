"""``agent-auth tui``: the Textual TUI for live approvals, token families and the audit tail."""

from __future__ import annotations

import argparse

from mcp_server.cli.app import Application


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    tui = sub.add_parser(
        "tui",
        help="approve agents' requests, manage token families and watch the audit log (terminal UI)",
        description="The terminal UI. It talks to the running daemon over its admin socket "
        "($XDG_RUNTIME_DIR/agent-auth/admin.sock); start the daemon with 'agent-auth serve' or "
        "'agent-auth demo'. If the daemon is not running the TUI says so and reconnects when it comes up.",
    )
    tui.set_defaults(handler=cmd_tui)


def cmd_tui(app: Application, args: argparse.Namespace) -> int:
    from tui import AgentAuthApp, SocketBackend

    AgentAuthApp(SocketBackend(app.settings.admin_socket_path)).run()
    return 0
