"""``agent-auth sandbox -- COMMAND``: run an agent where it cannot reach agent-auth's secrets (bubblewrap)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from mcp_server.cli.app import Application, UserError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    sandbox = sub.add_parser(
        "sandbox",
        parents=[common],
        help="run an agent (or any command) sandboxed: agent-auth's files and sockets hidden, /mcp reachable",
        description="Run COMMAND under bubblewrap with agent-auth's config, data, state and runtime directories "
        "(and $XDG_RUNTIME_DIR, which holds the keyring's D-Bus) hidden, in its own PID namespace and "
        "session; the network is shared so the daemon's /mcp stays reachable. Approvals hold against an agent "
        "run like this; they do not hold against one running unsandboxed as you. Example: "
        "agent-auth sandbox -- claude",
    )
    sandbox.add_argument("--print", action="store_true", help="print the bwrap command line instead of running it")
    sandbox.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    sandbox.set_defaults(handler=cmd_sandbox)


def cmd_sandbox(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.sandbox import SandboxUnavailableError, bwrap_argv

    command = args.command[1:] if args.command[:1] == ["--"] else list(args.command)
    try:
        argv = bwrap_argv(app.settings, command, env=os.environ)
    except SandboxUnavailableError as exc:
        raise UserError(str(exc), code=exc.code) from None
    if args.print:
        sys.stdout.write(shlex.join(argv) + "\n")
        return 0
    sys.stdout.flush()
    os.execv(argv[0], argv)  # noqa: S606 - the argv is built from settings, no shell involved
