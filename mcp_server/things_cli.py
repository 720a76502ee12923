"""``things-cli``: the seed's read-only Things client, against the daemon's ``/things-bridge/v1`` routes.

Commands and output follow the seed (``todos list [--list --project --area --tag --status]``,
``todos show ID``, ``projects list/show``, ``areas list/show``, ``--json``). Credentials come from
``AGENT_AUTH_TOKEN`` (with ``AGENT_AUTH_URL``) or from the client credentials that ``agent-auth login``
stored, refreshed automatically. Imports stay on the standard library and ``mcp_server.client`` so the
command starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, urlencode

from auth.untrusted import neutralise
from mcp_server.client.credentials import CredentialsError, CredentialStore, fresh_access_token
from mcp_server.client.http import DaemonUnreachableError, HttpResult, request_json
from mcp_server.errors import (
    THINGS_CLI_EXIT_AUTH,
    THINGS_CLI_EXIT_FORBIDDEN,
    THINGS_CLI_EXIT_NOT_FOUND,
    THINGS_CLI_EXIT_OK,
    THINGS_CLI_EXIT_UNAVAILABLE,
    THINGS_CLI_EXIT_USAGE,
    AgentAuthError,
    things_cli_exit,
)

# The original things-cli's exit statuses (tests and scripts read them from here).
EXIT_OK = THINGS_CLI_EXIT_OK
EXIT_USAGE = THINGS_CLI_EXIT_USAGE
EXIT_AUTH = THINGS_CLI_EXIT_AUTH
EXIT_FORBIDDEN = THINGS_CLI_EXIT_FORBIDDEN
EXIT_NOT_FOUND = THINGS_CLI_EXIT_NOT_FOUND
EXIT_UNAVAILABLE = THINGS_CLI_EXIT_UNAVAILABLE

DEFAULT_URL = "http://127.0.0.1:9100"
PREFIX = "/things-bridge/v1"


EPILOG = f"""\
credentials:
  AGENT_AUTH_TOKEN   an access token (aa_…); used as is, never refreshed
  AGENT_AUTH_URL     the daemon's URL (default {DEFAULT_URL}, or the stored one)
  otherwise the credentials stored by 'agent-auth login' are used and refreshed when they expire.
  The token needs the scope things:read.

exit status:
  0 ok, 1 usage or invalid argument, 2 not logged in / token rejected, 3 scope denied,
  4 not found, 5 daemon unreachable or Things unavailable

examples:
  things-cli todos list --list today
  things-cli todos list --tag Errand --json
  things-cli todos show 2x7gk3oyQqPZHfYVQZ8v4a
"""


class CliError(AgentAuthError):
    """A failure to report: ``code`` is the daemon's error code (or ours); the exit status is the original
    things-cli's for the HTTP status the answer had, or the code's registered one (:func:`things_cli_exit`)."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = things_cli_exit(code, status)


# --- talking to the daemon ---------------------------------------------------------------------


@dataclass
class BridgeClient:
    """GETs on the bridge with one retry after refreshing an access token the daemon called expired."""

    url: str
    token: str
    refresh: Callable[[], str] | None = None
    ca_cert: str | None = None

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        query = f"?{urlencode(params)}" if params else ""
        result = self._get(path + query)
        if result.status == 401 and result.error_code == "token_expired" and self.refresh is not None:
            self.token = self.refresh()
            result = self._get(path + query)
        if 200 <= result.status < 300:
            return result.body
        raise _http_error(result)

    def _get(self, path_and_query: str) -> HttpResult:
        # Long enough for a prompt-tier read to wait for a person (the daemon times approvals out first).
        return request_json(
            "GET", self.url + path_and_query, bearer=self.token, ca_cert=self.ca_cert, timeout_seconds=330.0
        )


def _http_error(result: HttpResult) -> CliError:
    code = result.error_code or f"http_{result.status}"
    if result.status == 401:
        hint = (
            "the access token expired; get a new one (or use stored credentials, which refresh)"
            if code == "token_expired"
            else "the daemon rejected the token; log in again with 'agent-auth login'"
        )
        return CliError(code, f"authentication failed ({code}): {hint}", status=result.status)
    if result.status == 403:
        message = f"scope denied ({code}): the token needs things:read (allow or prompt)"
        return CliError(code, message, status=result.status)
    if result.status == 404:
        return CliError(code, f"not found ({code})", status=result.status)
    if result.status == 400:
        field = result.body.get("field")
        return CliError(code, f"invalid argument{f' {field!r}' if field else ''} ({code})", status=result.status)
    if result.status == 429:
        wait = result.headers.get("retry-after", "a few")
        return CliError(code, f"rate limited: try again in {wait} seconds", status=result.status)
    if code == "things_permission_denied":
        message = "the daemon cannot read the Things database (on macOS grant it Full Disk Access)"
        return CliError(code, message, status=result.status)
    return CliError(code, f"bridge unavailable ({result.status} {code})", status=result.status)


def connect(env: dict[str, str] | None = None, store: CredentialStore | None = None) -> BridgeClient:
    """A client from ``AGENT_AUTH_TOKEN``/``AGENT_AUTH_URL`` or the stored, auto-refreshed credentials."""
    env = dict(os.environ) if env is None else env
    url_override = (env.get("AGENT_AUTH_URL") or "").rstrip("/") or None
    token = env.get("AGENT_AUTH_TOKEN")
    if token:
        return BridgeClient(url_override or DEFAULT_URL, token.strip())
    store = store or CredentialStore()
    try:
        credentials = fresh_access_token(store)
    except CredentialsError as exc:
        raise CliError("not_logged_in", exc.message) from None

    def refresh() -> str:
        try:
            # An infinite margin forces a refresh: the daemon says the token we hold has expired.
            return fresh_access_token(store, margin_seconds=float("inf")).access_token
        except CredentialsError as exc:
            raise CliError("not_logged_in", exc.message) from None

    url = url_override or credentials.server_url.rstrip("/")
    return BridgeClient(url, credentials.access_token, refresh, credentials.ca_cert)


# --- output ------------------------------------------------------------------------------------


def _clean(value: object, width: int | None = None) -> str:
    """Task text is untrusted: control and invisible characters are shown (``␛[2J``), never sent raw."""
    text = neutralise(str(value or ""))
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def _tags(item: dict[str, Any]) -> str:
    return ", ".join(_clean(t) for t in item.get("tag_names") or []) or "-"


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2))


def print_todo_rows(todos: list[dict[str, Any]]) -> None:
    if not todos:
        print("No todos.")
    for t in todos:
        where = t.get("project_name") or t.get("area_name") or "-"
        print(
            f"{t['id']}  [{t['status']:<9}]  {_clean(t['name'], 40):<40}  "
            f"project/area: {_clean(where, 20):<20}  due: {t.get('due_date') or '-':<10}  tags: {_tags(t)}"
        )


def print_project_rows(projects: list[dict[str, Any]]) -> None:
    if not projects:
        print("No projects.")
    for p in projects:
        print(
            f"{p['id']}  [{p['status']:<9}]  {_clean(p['name'], 40):<40}  "
            f"area: {_clean(p.get('area_name') or '-', 20):<20}  due: {p.get('due_date') or '-':<10}  tags: {_tags(p)}"
        )


def print_area_rows(areas: list[dict[str, Any]]) -> None:
    if not areas:
        print("No areas.")
    for a in areas:
        print(f"{a['id']}  {_clean(a['name'], 40):<40}  tags: {_tags(a)}")


def print_details(item: dict[str, Any], containers: Sequence[str]) -> None:
    print(f"id:                 {item['id']}")
    print(f"name:               {_clean(item['name'])}")
    if "status" in item:
        print(f"status:             {item['status']}")
    for container in containers:
        name, ident = item.get(f"{container}_name"), item.get(f"{container}_id")
        print(f"{container + ':':<20}{_clean(name or '-')} ({ident or '-'})")
    print(f"tags:               {_tags(item)}")
    for key in ("due_date", "activation_date", "completion_date", "cancellation_date"):
        if key in item:
            print(f"{key.replace('_', ' ') + ':':<20}{item.get(key) or '-'}")
    for key in ("creation_date", "modification_date"):
        if key in item:
            print(f"{key.replace('_', ' ') + ':':<20}{item.get(key) or '-'}")
    notes = item.get("notes") or ""
    if notes:
        print("notes:")
        for line in str(notes).splitlines():
            print(f"  {_clean(line)}")


def _note_truncation(body: dict[str, Any], key: str) -> None:
    total, shown, offset = body.get("total"), len(body.get(key) or []), body.get("offset") or 0
    if isinstance(total, int) and total > offset + shown:
        print(f"(showing {shown} of {total}; page on with --offset {offset + shown})", file=sys.stderr)


# --- commands ----------------------------------------------------------------------------------


_DATE_OPTIONS = {
    "created_after": "only to-dos created on or after this day",
    "created_before": "only to-dos created on or before this day",
    "modified_after": "only to-dos changed on or after this day",
    "completed_after": "only to-dos completed or canceled on or after this day (the Logbook over a period)",
    "completed_before": "only to-dos completed or canceled on or before this day",
    "deadline_before": "only to-dos with a deadline on or before this day",
}


def _page_params(args: argparse.Namespace, keys: Sequence[str]) -> dict[str, str]:
    names = {"query": "q"}
    params = {names.get(k, k): str(getattr(args, k)) for k in keys if getattr(args, k, None) is not None}
    return params


def todos_list(client: BridgeClient, args: argparse.Namespace) -> None:
    params = _page_params(
        args, ("list", "project", "area", "tag", "status", "query", "limit", "offset", *_DATE_OPTIONS)
    )
    body = client.get(f"{PREFIX}/todos", params)
    if args.json:
        _print_json(body)
        return
    print_todo_rows(body.get("todos", []))
    _note_truncation(body, "todos")


def todos_show(client: BridgeClient, args: argparse.Namespace) -> None:
    body = client.get(f"{PREFIX}/todos/{quote(args.id, safe='')}")
    if args.json:
        _print_json(body)
    else:
        print_details(body["todo"], ("project", "area"))


def projects_list(client: BridgeClient, args: argparse.Namespace) -> None:
    keys = ("list", "area", "tag", "status", "query", "limit", "offset")
    body = client.get(f"{PREFIX}/projects", _page_params(args, keys))
    if args.json:
        _print_json(body)
        return
    print_project_rows(body.get("projects", []))
    _note_truncation(body, "projects")


def projects_show(client: BridgeClient, args: argparse.Namespace) -> None:
    body = client.get(f"{PREFIX}/projects/{quote(args.id, safe='')}")
    if args.json:
        _print_json(body)
    else:
        print_details(body["project"], ("area",))


def areas_list(client: BridgeClient, args: argparse.Namespace) -> None:
    body = client.get(f"{PREFIX}/areas")
    if args.json:
        _print_json(body)
    else:
        print_area_rows(body.get("areas", []))


def areas_show(client: BridgeClient, args: argparse.Namespace) -> None:
    body = client.get(f"{PREFIX}/areas/{quote(args.id, safe='')}")
    if args.json:
        _print_json(body)
    else:
        print_details(body["area"], ())


Handler = Callable[[BridgeClient, argparse.Namespace], None]


def _leaf(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    # --json is accepted before the command (as in the seed) and after it.
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the daemon's JSON")
    parser.set_defaults(handler=handler)
    return parser


def _paging(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--query", "-q", help=f"only {what} whose title or notes contain this text")
    parser.add_argument("--limit", type=int, help="page size, 1-500 (default 500)")
    parser.add_argument("--offset", type=int, help="skip this many matches (default 0)")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error; in this program's table 2 means "token rejected", usage is 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        import importlib.metadata

        try:
            version = importlib.metadata.version("agent-auth")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        sys.stdout.write(f"things-cli {version}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="things-cli",
        description="Read Things 3 to-dos, projects and areas through the agent-auth daemon (read-only).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", default=False, help="print the daemon's JSON")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="{todos,projects,areas}")

    todos = commands.add_parser("todos", help="to-dos: list, show").add_subparsers(dest="sub", metavar="{list,show}")
    todos_list_parser = _leaf(todos, "list", todos_list, "List to-dos (open ones in built-in lists).")
    todos_list_parser.add_argument(
        "--list",
        help="built-in list: inbox, today, upcoming, anytime, someday, logbook, trash "
        "(or the AppleScript id, e.g. TMTodayListSource)",
    )
    todos_list_parser.add_argument("--project", metavar="ID", help="only to-dos in this project")
    todos_list_parser.add_argument("--area", metavar="ID", help="only to-dos in this area")
    todos_list_parser.add_argument("--tag", metavar="NAME", help="only to-dos with this tag")
    todos_list_parser.add_argument("--status", choices=("open", "completed", "canceled"), help="only this status")
    for option in _DATE_OPTIONS:
        flag = "--" + option.replace("_", "-")
        todos_list_parser.add_argument(flag, dest=option, metavar="YYYY-MM-DD", help=_DATE_OPTIONS[option])
    _paging(todos_list_parser, "to-dos")
    _leaf(todos, "show", todos_show, "Show one to-do by id.").add_argument("id")

    projects = commands.add_parser("projects", help="projects: list, show").add_subparsers(
        dest="sub", metavar="{list,show}"
    )
    projects_list_parser = _leaf(projects, "list", projects_list, "List projects.")
    projects_list_parser.add_argument(
        "--list", metavar="LIST", help="only projects the app shows in this list (today, someday, trash, ...)"
    )
    projects_list_parser.add_argument("--area", metavar="ID", help="only projects in this area")
    projects_list_parser.add_argument("--tag", metavar="NAME", help="only projects with this tag")
    projects_list_parser.add_argument("--status", choices=("open", "completed", "canceled"), help="only this status")
    _paging(projects_list_parser, "projects")
    _leaf(projects, "show", projects_show, "Show one project by id.").add_argument("id")

    areas = commands.add_parser("areas", help="areas: list, show").add_subparsers(dest="sub", metavar="{list,show}")
    _leaf(areas, "list", areas_list, "List areas.")
    _leaf(areas, "show", areas_show, "Show one area by id.").add_argument("id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        handler(connect(), args)
    except CliError as exc:
        print(f"things-cli: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except DaemonUnreachableError as exc:
        print(f"things-cli: {exc}", file=sys.stderr)
        return things_cli_exit(exc.code)
    except BrokenPipeError:  # `things-cli todos list | head`
        return EXIT_OK
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
