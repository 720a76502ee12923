"""One error vocabulary, closed: no module keeps a code table of its own, and the error roots are one per layer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from auth.errors import AuthError
from mcp_server.errors import EXIT_UNREACHABLE, REGISTRY, AgentAuthError, exit_code
from tests.test_error_codes import PACKAGES, error_classes

# --- one table: no module outside the registry pairs a code with a status or an exit code -----------------

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_MODULE = "mcp_server/errors.py"
# Deliberate, documented exceptions to the code's own status, each on one route of the original's wire.
OVERRIDES = {
    # Revoking a family that is already revoked: the original answered 409 on this route (401 elsewhere).
    ("mcp_server/daemon/management_routes.py", "family_revoked", 409),
}


def _is_status(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and 400 <= node.value < 600


def _is_exit(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.startswith("EXIT_")


def _code_of(node: ast.AST) -> str | None:
    """A literal error code (``"scope_denied"``), or the code of a literal ``{"error": "..."}`` body."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        if text in REGISTRY or re.fullmatch(r"[a-z]+(_[a-z]+)+", text):
            return text
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        written = re.search(rb'"error":\s*"([a-z_]+)"', node.value)  # a body written out as bytes
        return written.group(1).decode() if written else None
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "error" and isinstance(value, ast.Constant):
                return str(value.value)
    return None


def private_tables(source: str, path: str) -> list[tuple[str, int, str]]:
    """Every place in ``source`` that decides a code's HTTP status or exit code itself: a dict or tuple pairing a
    code with a status (either way round), a call passing a literal status next to a literal code, an error
    built with an exit code. ``(path, line, text)`` each."""
    found: list[tuple[str, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        hit = False
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    continue
                statuses = value.elts if isinstance(value, ast.Tuple) else [value]
                coded = _code_of(key) is not None and any(_is_status(v) or _is_exit(v) for v in statuses)
                hit = hit or coded or (_is_status(key) and _code_of(value) is not None)
        elif isinstance(node, ast.Tuple):
            hit = any(map(_is_status, node.elts)) and any(_code_of(e) is not None for e in node.elts)
        elif isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            codes = {code for a in args if (code := _code_of(a)) is not None}
            statuses = {a.value for a in args if _is_status(a) and isinstance(a, ast.Constant)}
            hit = bool(codes and statuses) and not {(path, c, s) for c in codes for s in statuses} <= OVERRIDES
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            hit = hit or (callee.endswith("Error") and any(map(_is_exit, args)))
        elif isinstance(node, ast.If | ast.IfExp):
            # A branch on a code (or a status) that picks an exit code (or a status): a table written as ifs.
            tested = list(ast.walk(node.test))
            body = [node.body] if isinstance(node, ast.IfExp) else node.body
            branch = [n for part in body for n in ast.walk(part)]
            on_code = any(_code_of(n) is not None for n in tested if isinstance(n, ast.Constant))
            on_status = any(map(_is_status, tested))
            hit = (on_code and any(_is_exit(n) or _is_status(n) for n in branch)) or (
                on_status and any(map(_is_exit, branch))
            )
        if hit:
            found.append((path, getattr(node, "lineno", 0), ast.unparse(node)[:120]))
    return found


def test_no_module_keeps_a_table_of_its_own() -> None:
    found = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            if path != REGISTRY_MODULE:
                found += private_tables(file.read_text(encoding="utf-8"), path)
    assert found == []


@pytest.mark.parametrize(
    "table",
    [
        # The tables there were before the registry took them over.
        '_ERROR_MAP = ((PayloadTooLargeError, 413, "payload_too_large"), (NoSuchKeyError, 404, "no_such_key"))',
        'def error_response(exc):\n    if isinstance(exc, NotFoundError):\n        return 404, {"error": "not_found"}',
        '_REFUSALS = {"token_expired": (401, "token_expired"), "rate_limited": (429, "rate_limited")}',
        "raise CliError(EXIT_AUTH, exc.message)",
        # And the exit codes the CLI picked for the admin socket's codes.
        'if exc.code in ("family_not_found", "consent_not_found"):\n    exit_code = EXIT_NOT_FOUND',
        'exit_code = EXIT_UNREACHABLE if exc.code == "daemon_unavailable" else EXIT_FAILED',
        "if result.status == 403:\n    raise SystemExit(EXIT_FORBIDDEN)",
        """await _json(send, 400, b'{"error":"invalid_target"}')""",
        # And the ways a new one would be written.
        'STATUS = {"scope_denied": 403, "rate_limited": 429}',
        'EXITS = {"keys_missing": EXIT_STORE}',
        "code = {404: 'not_found', 405: 'method_not_allowed'}.get(status)",
        'return JSONResponse({"error": "authz_unavailable"}, status_code=502)',
        'raise RequestError(400, "malformed_request", "bad")',
        'raise UserError("no", code="config_invalid", exit_code=EXIT_USAGE)',
        'self._send(403, {"error": "cross_origin_refused"})',
    ],
)
def test_the_table_check_finds_a_second_table(table: str) -> None:
    assert private_tables(table, "mcp_server/new_module.py") != []


def test_literal_codes_raised_anywhere_are_registered() -> None:
    """A code written where an error is raised or rendered (``code="..."``, ``UserError(..., code=...)``,
    ``http_error("...")``, ``RequestError("...")``) is in the registry, so every transport can render it."""
    renderers = {"http_error", "RequestError", "bridge_error", "tool_error_text", "admin_error", "CliError"}
    unregistered = []
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                candidates = [k.value for k in node.keywords if k.arg == "code"]
                if callee in renderers and node.args:
                    candidates.append(node.args[1] if callee == "admin_error" else node.args[0])
                for value in candidates:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value not in REGISTRY:
                        unregistered.append(f"{file.relative_to(ROOT)}:{node.lineno} {value.value}")
    assert unregistered == []


# --- error roots: one per layer, each mapped through the registry ---------------------------------------

# The roots left, and why each stays its own: the layering keeps auth/ and tools/ from importing mcp_server.
EXPECTED_ROOTS = {
    "auth.errors.AuthError",  # auth/ may not import mcp_server: coded, rendered at the boundary
    "auth.admin_errors.AdminError",  # the admin client's, carrying the daemon's code: same registry
    "tools.gpg.errors.GpgError",
    "tools.things.errors.ThingsError",
    "mcp_server.errors.AgentAuthError",  # everything of the composition root
    "auth.approvals._CallerGone",  # private control flow inside the broker, never leaves it
    "tui.screens.create_family.FormError",  # a form field the person fixes on screen, never leaves it
}


def test_error_roots_are_one_per_layer() -> None:
    roots = set()
    for cls in error_classes():
        ours = [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] in PACKAGES]
        if not ours:
            roots.add(f"{cls.__module__}.{cls.__qualname__}")
    assert roots == EXPECTED_ROOTS


def test_every_coded_root_renders_through_the_registry() -> None:
    import tools.gpg.errors
    import tools.things.errors
    from auth.admin_errors import AdminError

    for root in (AuthError, tools.gpg.errors.GpgError, tools.things.errors.ThingsError, AgentAuthError):
        assert root.code in REGISTRY
    assert exit_code(AdminError("daemon_unavailable", "down")) == EXIT_UNREACHABLE
