"""Client-side commands: login, logout, status, token header, mcp-config, mcp (the stdio proxy)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mcp_server.cli.app import EXIT_FAILED, Application, UserError

DEFAULT_URL = "http://127.0.0.1:9100"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    login = sub.add_parser(
        "login",
        parents=[common],
        help="store a token pair for clients on this machine (keyring or 0600 file)",
        description="Store an access/refresh token pair (and the daemon's URL) for agent-auth clients on this "
        "machine or devcontainer. Tokens are read from stdin — pipe the JSON of 'agent-auth token create "
        "--json', or type them at the hidden prompts — never from the command line, so they stay out of shell "
        "history. Stored in the OS keyring when one exists, else in a 0600 file.",
        epilog="example: agent-auth token create --scope things:read --json | agent-auth login --url "
        "http://127.0.0.1:9100",
    )
    login.add_argument("--url", help=f"daemon URL (env AGENT_AUTH_URL; default: the local daemon or {DEFAULT_URL})")
    login.add_argument("--ca-cert", help="CA certificate (PEM) to trust for an https daemon")
    login.set_defaults(handler=cmd_login)

    logout = sub.add_parser("logout", parents=[common], help="forget the stored client credentials")
    logout.set_defaults(handler=cmd_logout)

    status = sub.add_parser("status", parents=[common], help="show the stored credentials (redacted) and check them")
    status.set_defaults(handler=cmd_status)

    config = sub.add_parser(
        "mcp-config",
        parents=[common],
        help="print a ready .mcp.json entry and the matching 'claude mcp' command",
        description="Print a .mcp.json entry for Claude Code (and the equivalent 'claude mcp add…' command). "
        "The http transport uses 'agent-auth token header' as headersHelper, so tokens refresh on every "
        "reconnect; the stdio transport launches 'agent-auth mcp'.",
    )
    config.add_argument("--transport", choices=["http", "stdio"], default="http")
    config.add_argument("--name", default="agent-auth", help="server name in the client config")
    config.add_argument("--url", help="daemon URL (default: stored credentials, AGENT_AUTH_URL, or the local daemon)")
    config.add_argument(
        "--write",
        choices=["project", "user"],
        help="merge the entry into <dir>/.mcp.json (project) or ~/.claude.json (user), showing a diff first",
    )
    config.add_argument("--project", type=Path, help="the project directory for --write project (default: here)")
    config.add_argument("--yes", action="store_true", help="with --write: write without asking")
    config.set_defaults(handler=cmd_mcp_config)

    mcp = sub.add_parser(
        "mcp",
        help="run a stdio MCP server that forwards to the daemon (for clients that launch a command)",
        description="A stdio MCP server for clients that launch a command. It forwards to the daemon over HTTP "
        "with a token from AGENT_AUTH_TOKEN (and AGENT_AUTH_URL) or the stored credentials, refreshed as needed. "
        "stdout carries only the protocol.",
    )
    mcp.add_argument("--url", help="daemon URL (env AGENT_AUTH_URL)")
    mcp.set_defaults(handler=cmd_mcp)


def add_token_header(
    tsub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    header = tsub.add_parser(
        "header",
        parents=[common],
        help='print {"Authorization": "Bearer …"} for Claude Code\'s headersHelper (refreshes as needed)',
        description="Print the HTTP headers an MCP client needs, as JSON. Refreshes the stored pair when the "
        "access token expires within a minute, falling back to reissue (which waits for approval on the host) "
        "when the refresh token has expired. Safe to run concurrently. AGENT_AUTH_TOKEN, when set, is used as is.",
    )
    header.set_defaults(handler=cmd_token_header)


def _local_daemon_url(app: Application) -> str | None:
    try:
        state = json.loads(app.settings.daemon_state_path.read_text())
    except (OSError, ValueError):
        return None
    url = state.get("url") if isinstance(state, dict) else None
    return url if isinstance(url, str) else None


def _default_url(app: Application, explicit: str | None) -> str:
    return (explicit or os.environ.get("AGENT_AUTH_URL") or _local_daemon_url(app) or DEFAULT_URL).rstrip("/")


def _read_tokens() -> tuple[str, str]:
    if sys.stdin.isatty():
        import getpass

        access = getpass.getpass("access token (aa_…): ").strip()
        refresh = getpass.getpass("refresh token (rt_…): ").strip()
        return access, refresh
    text = sys.stdin.read().strip()
    try:
        data = json.loads(text)
    except ValueError:
        parts = text.split()
        if len(parts) != 2:
            raise UserError(
                "expected the JSON of 'token create --json' or two lines: access token, refresh token",
                code="malformed_input",
            ) from None
        return parts[0], parts[1]
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("access_token"), str)
        or not isinstance(data.get("refresh_token"), str)
    ):
        raise UserError("the JSON on stdin has no access_token/refresh_token", code="malformed_input")
    return data["access_token"], data["refresh_token"]


def cmd_login(app: Application, args: argparse.Namespace) -> int:
    from auth.tokens import TokenKind, parse
    from mcp_server.client.credentials import Credentials, CredentialStore, fresh_access_token
    from mcp_server.client.http import DaemonUnreachableError, request_json

    access, refresh = _read_tokens()
    try:
        if parse(access).kind is not TokenKind.ACCESS or parse(refresh).kind is not TokenKind.REFRESH:
            raise ValueError
    except ValueError:
        raise UserError(
            "these are not an agent-auth access token (aa_…) and refresh token (rt_…)",
            code="malformed_input",
        ) from None
    url = _default_url(app, args.url)
    credentials = Credentials(url, access, refresh, 0.0, None, args.ca_cert)
    try:
        result = request_json("GET", f"{url}/agent-auth/v1/token/status", bearer=access, ca_cert=args.ca_cert)
    except DaemonUnreachableError as exc:
        raise UserError(str(exc), code=exc.code) from None
    if result.status == 200:
        credentials.family_id = result.body.get("family_id")
        credentials.access_expires_at = time.time() + float(result.body.get("expires_in") or 0)
    elif result.error_code not in ("token_expired",):
        raise UserError(
            f"the daemon at {url} rejected the access token ({result.error_code})",
            code=result.error_code or "invalid_token",
        )
    store = CredentialStore()
    store.save(credentials)
    if credentials.access_expires_at <= time.time():
        credentials = fresh_access_token(store)
    app.emit(
        {"logged_in": True, "store": store.description, **credentials.redacted()},
        f"logged in to {url} (family {credentials.family_id}); credentials stored in {store.description}",
    )
    return 0


def cmd_logout(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.client.credentials import CredentialStore

    store = CredentialStore()
    removed = store.clear()
    app.emit({"logged_out": removed}, "credentials removed" if removed else "no stored credentials")
    return 0


def _login_failure(check: Any) -> UserError:
    return UserError(check.detail, code=check.code, hint=check.fix)


def cmd_status(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.client.check import check_login
    from mcp_server.client.credentials import CredentialsError, CredentialStore

    store = CredentialStore()
    try:
        credentials = store.load()
    except CredentialsError as exc:
        raise UserError(exc.message, code=exc.code) from None
    if credentials is None:
        raise UserError(
            "not logged in",
            code="not_logged_in",
            hint="pipe 'agent-auth token create --json' into 'agent-auth login'",
        )
    check = check_login(credentials)
    info: dict[str, Any] = {"store": store.description, **credentials.redacted()}
    info.update(
        state=check.state,
        daemon="unreachable" if check.state == "unreachable" else "reachable",
        detail=check.detail,
        fix=check.fix,
        token_status=check.token_status,
    )
    shown = ("store", "server_url", "family_id", "access_token", "refresh_token", "access_expires_in", "ca_cert")
    lines = [f"{k:<18} {info[k]}" for k in shown if info.get(k) is not None]
    lines.append(f"{'daemon':<18} {info['daemon']}")
    lines.append(f"{'state':<18} {check.state}: {check.detail}")
    scopes = (check.token_status or {}).get("scopes")
    if isinstance(scopes, dict) and check.usable:
        lines.append(f"{'scopes':<18} " + ", ".join(f"{k}={v}" for k, v in scopes.items()))
    app.emit(info, "\n".join(lines))
    if not check.usable:
        raise _login_failure(check)
    return 0


def cmd_token_header(app: Application, args: argparse.Namespace) -> int:
    token = os.environ.get("AGENT_AUTH_TOKEN")
    if not token:
        from mcp_server.client.check import check_login
        from mcp_server.client.credentials import (
            REFRESH_MARGIN_SECONDS,
            CredentialsError,
            CredentialStore,
            fresh_access_token,
        )
        from mcp_server.client.http import DaemonUnreachableError

        store = CredentialStore()
        try:
            credentials = store.load()
            if credentials is not None and credentials.access_expires_at - time.time() > REFRESH_MARGIN_SECONDS:
                # A cached token can be revoked (or its daemon gone) long before it expires: ask first.
                check = check_login(credentials, margin_seconds=REFRESH_MARGIN_SECONDS)
                if check.state == "ok":
                    token = credentials.access_token
                elif check.state != "refreshable":
                    raise _login_failure(check)
            if token is None:
                token = fresh_access_token(store).access_token
        except CredentialsError as exc:
            raise UserError(exc.message, code=exc.code) from None
        except DaemonUnreachableError as exc:
            raise UserError(str(exc), code=exc.code) from None
    sys.stdout.write(json.dumps({"Authorization": f"Bearer {token}"}) + "\n")
    return 0


def cmd_mcp_config(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.cli import mcp_config
    from mcp_server.client.credentials import CredentialStore

    stored = None
    try:
        stored = CredentialStore().load()
    except Exception:  # a broken store must not stop printing a config
        stored = None
    url = (args.url or (stored.server_url if stored else None) or _default_url(app, None)).rstrip("/")
    entry = mcp_config.build_entry(args.transport, url)
    if args.write:
        return _write_mcp_config(app, args, entry)
    snippet = {"mcpServers": {args.name: entry}}
    command = mcp_config.claude_command(args.name, entry)
    text = (
        "Add to .mcp.json (project) or ~/.claude.json (user), or use --write project|user:\n"
        + json.dumps(snippet, indent=2)
        + f"\n\nor run:\n  {command}\n"
        + (
            "\nThe headersHelper reads the stored credentials: run 'agent-auth login' first.\n"
            if args.transport == "http"
            else ""
        )
    )
    app.emit({"mcp_json": snippet, "claude_command": command}, text)
    return 0


def _write_mcp_config(app: Application, args: argparse.Namespace, entry: dict[str, Any]) -> int:
    from mcp_server.cli import mcp_config

    path = mcp_config.config_path(args.write, args.project)
    before, after = mcp_config.merged(path, args.name, entry)
    diff = mcp_config.unified_diff(path, before, after)
    if not diff:
        app.emit({"path": str(path), "changed": False}, f"{path} already holds this entry; nothing to do")
        return 0
    sys.stderr.write(diff if diff.endswith("\n") else diff + "\n")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"not writing {path} without confirmation",
                code="confirmation_needed",
                hint="review the diff above, then re-run with --yes",
            )
        if not mcp_config.confirm(f"Write {path}? [y/N] "):
            app.emit({"path": str(path), "changed": False}, "nothing written")
            return EXIT_FAILED
    mcp_config.write_atomically(path, after)
    app.emit({"path": str(path), "changed": True}, f"wrote the '{args.name}' entry to {path}")
    return 0


def cmd_mcp(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.client.credentials import CredentialsError, CredentialStore, fresh_access_token
    from mcp_server.mcp.stdio_proxy import run, run_refusal

    env_token = os.environ.get("AGENT_AUTH_TOKEN")
    store = CredentialStore()
    if env_token:
        url = _default_url(app, args.url)
        ca_cert = None

        def provider() -> str:
            return env_token
    else:
        try:
            stored = fresh_access_token(store)
        except CredentialsError as exc:
            # The client that launched us reads this as a JSON-RPC error, not "connection closed".
            return run_refusal(exc.code, exc.message.rstrip("."))
        url = (args.url or stored.server_url).rstrip("/")
        ca_cert = stored.ca_cert

        def provider() -> str:
            return fresh_access_token(store).access_token

    return run(url, provider, ca_cert=ca_cert)
