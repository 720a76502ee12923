"""``agent-auth serve``: run the daemon in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mcp_server.cli.app import Application, UserError
from mcp_server.settings import SettingsError, load_settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the daemon (token service, MCP endpoint, admin socket)",
        description="Run the agent-auth daemon in the foreground: the HTTP token service and MCP endpoint on "
        "127.0.0.1:9100 by default, and the admin socket for the CLI and TUI. SIGINT/SIGTERM drain in-flight "
        "requests (a second signal exits at once).",
    )
    serve.add_argument("--host", help="address to listen on (env AGENT_AUTH_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env AGENT_AUTH_PORT; default 9100; 0 = pick a free port)")
    serve.add_argument("--tls-cert", type=Path, help="TLS certificate (PEM; env AGENT_AUTH_TLS_CERT)")
    serve.add_argument("--tls-key", type=Path, help="TLS private key (PEM; env AGENT_AUTH_TLS_KEY)")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(app: Application, args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            overrides={"host": args.host, "port": args.port, "tls_cert": args.tls_cert, "tls_key": args.tls_key}
        )
    except SettingsError as exc:
        raise UserError(str(exc), code=exc.code) from None
    if settings.host not in ("127.0.0.1", "::1", "localhost") and not settings.tls_cert:
        log.warning("listening on %s without TLS: tokens cross the network in clear text", settings.host)
    import anyio

    from mcp_server.composition import integrations
    from mcp_server.daemon.compose import serve_forever
    from mcp_server.daemon.home_lock import HomeBusyError
    from mcp_server.daemon.serve import EssentialTaskFailed, ListenError

    try:
        anyio.run(serve_forever, settings, _announce, integrations())
    except SettingsError as exc:
        raise UserError(str(exc), code=exc.code) from None
    except HomeBusyError as exc:
        raise UserError(str(exc), code=exc.code) from None
    except ListenError as exc:
        raise UserError(exc.strerror or str(exc), code=exc.code) from None
    except EssentialTaskFailed as exc:
        raise UserError(
            f"the daemon stopped: {exc}", code=exc.code, hint="a service manager restarts it; see the log above"
        ) from None
    except OSError as exc:
        raise UserError(str(exc), code="store_unusable") from None
    return 0


def _announce(url: str, lines: list[str]) -> None:
    sys.stderr.write(f"agent-auth daemon listening on {url}\n")
    for line in lines:
        sys.stderr.write(f"  {line}\n")
    sys.stderr.flush()
