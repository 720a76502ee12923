"""Entry point of the ``agent-auth`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from auth.admin_errors import AdminError
from auth.errors import AuthError
from mcp_server.cli import (
    approvals_cmds,
    audit_cmds,
    client_cmds,
    consent_cmds,
    demo_cmds,
    doctor_cmds,
    gpg_cmds,
    sandbox_cmds,
    serve_cmds,
    service_cmds,
    terminal_notifier,
    token_cmds,
    tui_cmds,
)
from mcp_server.cli.app import (
    EXIT_CODES_HELP,
    EXIT_USAGE,
    Application,
    UserError,
)
from mcp_server.logsetup import configure_logging

ENV_HELP = """environment:
  XDG_DATA_HOME, XDG_STATE_HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR   where state lives (isolate a run by
                                     pointing them at a temporary directory)
  AGENT_AUTH_HOME                    one folder for everything (data, state, config, run; gpg in its gnupg/
                                     folder when there is one)
  AGENT_AUTH_CONFIG                  config file (default $XDG_CONFIG_HOME/agent-auth/config.toml); must exist
  GNUPGHOME                          the gpg home used for signing when gpg_home is not set
  AGENT_AUTH_KEY_STORE               auto | keyring | file (default auto)
  AGENT_AUTH_<SETTING>               any setting of the config file, e.g. AGENT_AUTH_PORT=9100
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's parser must not reset a --json given before the command to False.
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON (stable shapes)"
    )
    parser = argparse.ArgumentParser(
        prog="agent-auth",
        description="agent-auth: scoped, human-approved access for AI agents to your own applications.",
        epilog=ENV_HELP + "\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    token_cmds.register(sub, common)
    consent_cmds.register(sub, common)
    approvals_cmds.register(sub, common)
    audit_cmds.register(sub, common)
    serve_cmds.register(sub, common)
    client_cmds.register(sub, common)
    demo_cmds.register(sub, common)
    tui_cmds.register(sub, common)
    gpg_cmds.register(sub, common)
    service_cmds.register(sub, common)
    doctor_cmds.register(sub, common)
    terminal_notifier.register(sub, common)
    sandbox_cmds.register(sub, common)
    return parser


class _VersionAction(argparse.Action):
    """--version, reading package metadata only when asked (it costs ~50 ms at every start otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        sys.stdout.write(f"agent-auth {_version()}\n")
        parser.exit()


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("agent-auth")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING, sys.stderr)
    app = Application(json_output=bool(getattr(args, "json", False)))
    try:
        return int(args.handler(app, args))
    except UserError as exc:
        app.fail(exc)
    except AuthError as exc:
        if exc.detail:
            logging.getLogger("agent_auth").debug("detail: %s", exc.detail)
        app.fail(UserError.of(exc))
    except AdminError as exc:  # the daemon's code, answered over the admin socket: same registry
        app.fail(UserError.of(exc))
    except KeyboardInterrupt:
        sys.stderr.write("agent-auth: interrupted\n")
        return 130
    finally:
        app.close()
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
