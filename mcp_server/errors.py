"""One error vocabulary: every error code the project emits, in one table, and one renderer per transport.

Each package keeps its own error root (``auth.errors.AuthError``, ``auth.admin_errors.AdminError``,
``tools.things.errors.ThingsError``, ``tools.gpg.errors.GpgError``, :class:`AgentAuthError` here for the
composition root): the layering keeps ``auth/`` and ``tools/`` from importing this module. What they share
is the shape — a stable snake_case ``code`` (:class:`CodedError`) — and this registry, the only place that
says what a code means on each surface (:class:`ErrorSpec`: HTTP status, CLI exit code, the original
bridges' word for it, JSON-RPC error number). The renderers:

- HTTP JSON (REST routes): the status and the ``{"error": code, "detail": …}`` body (:func:`http_error`);
- the original ``/things-bridge`` and ``/gpg-bridge`` routes: their own, smaller vocabulary
  (:func:`bridge_error`; ``tools/`` handlers raise, ``mcp_server.integrations.bridge_errors`` renders);
- the ``agent-auth`` CLI: the process exit code (:func:`exit_code`); ``things-cli``: the original's exit
  statuses (:func:`things_cli_exit`);
- the admin socket: the ``{"id", "error": {"code", "message"}}`` envelope (:func:`admin_error`);
- JSON-RPC / MCP: the ``error`` member of a JSON-RPC response (:func:`jsonrpc_error`) and the text of an
  MCP tool error (:func:`tool_error_text`).

A code missing from :data:`REGISTRY` still renders (HTTP 400, exit 1), but ``tests/test_error_codes.py``
requires every code an error class carries or a call site writes to be registered, and fails on a module
that pairs a code with a status or an exit code itself (a second table).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the CLI imports this module for exit codes; starlette loads only with the daemon
    from starlette.responses import JSONResponse

# Exit codes of the agent-auth CLI (documented in its --help epilog).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_STORE = 4
EXIT_UNREACHABLE = 5
EXIT_CONFLICT = 6


# Exit statuses of things-cli, the original's (its clients and scripts branch on them).
THINGS_CLI_EXIT_OK = 0
THINGS_CLI_EXIT_USAGE = 1
THINGS_CLI_EXIT_AUTH = 2
THINGS_CLI_EXIT_FORBIDDEN = 3
THINGS_CLI_EXIT_NOT_FOUND = 4
THINGS_CLI_EXIT_UNAVAILABLE = 5


# JSON-RPC error numbers: its own for a body that is not JSON-RPC, else one from the range JSON-RPC leaves to
# implementations; the stable part for callers is ``data.error`` (the code).
JSONRPC_PARSE_ERROR = -32700
JSONRPC_SERVER_ERROR = -32000
JSONRPC_INSUFFICIENT_SCOPE = -32003
JSONRPC_TOKEN_REFUSED = -32004
JSONRPC_TOO_MANY_SESSIONS = -32005


class CodedError(Protocol):
    """What every error root of the project provides: a stable snake_case code."""

    @property
    def code(self) -> str: ...


class AgentAuthError(Exception):
    """Base of the composition root's own errors (settings, CLI, client, daemon plumbing).

    ``code`` is a class attribute where a class stands for one code, an instance attribute where one class
    carries several (a request error, a user error).
    """

    code: str = "agent_auth_error"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """What one code means on every transport.

    ``bridge`` is the code the original ``/things-bridge`` and ``/gpg-bridge`` clients know this error by
    (their vocabulary is smaller and fixed: ``things-bridge.v1.yaml``, ``gpg-bridge.v1.yaml``); ``None``
    when they have no word for it, and the bridge's catch-all code answers (:func:`bridge_error`).
    """

    code: str
    http_status: int
    exit_code: int = EXIT_FAILED
    bridge: str | None = None
    jsonrpc: int = JSONRPC_SERVER_ERROR


def _specs(http_status: int, exit_code: int, *codes: str) -> dict[str, ErrorSpec]:
    return {code: ErrorSpec(code, http_status, exit_code) for code in codes}


REGISTRY: dict[str, ErrorSpec] = {
    # A token that cannot be used: the caller must authenticate again.
    **_specs(
        401,
        EXIT_FAILED,
        "invalid_token",
        "token_expired",
        "token_revoked",
        "family_revoked",
        "refresh_token_expired",
        "refresh_token_reuse_detected",
        "missing_token",
        "invalid_grant",
        "invalid_client",
    ),
    # Authenticated, but not allowed.
    **_specs(
        403,
        EXIT_FAILED,
        "scope_denied",
        "reissue_denied",
        "insufficient_scope",
        "approval_required",
        "approval_denied",
        "approval_changed",
        "key_not_allowed",
        "ambiguous_key",
        "peer_refused",
        "access_denied",
    ),
    **_specs(429, EXIT_FAILED, "rate_limited", "too_many_pending", "too_many_clients", "too_many_sessions"),
    # The request itself is wrong.
    **_specs(
        400,
        EXIT_USAGE,
        "malformed_request",
        "malformed_input",
        "invalid_request",
        "invalid_scope",
        "reserved_scope",
        "invalid_argument",
        "invalid_arguments",
        "invalid_tier",
        "invalid_params",
        "invalid_settings",
        "invalid_redirect_uri",
        "invalid_target",
        "invalid_key_spec",
        "short_key_id",
        "invalid_notation",
        "unsupported_operation",
        "unknown_method",
        "payload_rejected",
        "payload_not_git_object",
        "payload_already_signed",
        "usage",
    ),
    **_specs(
        400,
        EXIT_FAILED,
        "refresh_token_still_valid",
        "no_scopes",
        "no_modifications",
        "bad_signature",
        "consent_not_pending",
        "matching_code_mismatch",
    ),
    **_specs(404, EXIT_NOT_FOUND, "family_not_found"),
    **_specs(404, EXIT_NOT_FOUND, "consent_not_found"),
    **_specs(404, EXIT_FAILED, "not_found", "no_such_key"),
    **_specs(405, EXIT_USAGE, "method_not_allowed"),
    **_specs(413, EXIT_USAGE, "payload_too_large", "request_too_large"),
    **_specs(409, EXIT_CONFLICT, "already_serving", "composition_conflict"),
    # The host side cannot do its part right now: nothing was changed.
    **_specs(503, EXIT_FAILED, "audit_unavailable", "audit_failed", "audit_error"),
    **_specs(
        503,
        EXIT_STORE,
        "store_unavailable",
        "store_error",
        "decryption_failed",
        "schema_too_new",
        "key_store_error",
        "keyring_unavailable",
        "keys_missing",
        "key_mismatch",
    ),
    **_specs(503, EXIT_UNREACHABLE, "daemon_unreachable", "bridge_unreachable"),
    # The original bridges' own words (what their clients branch on), only ever sent on their routes.
    **_specs(401, EXIT_FAILED, "unauthorized"),
    **_specs(502, EXIT_FAILED, "authz_unavailable", "things_unavailable"),
    **_specs(
        503,
        EXIT_FAILED,
        "things_permission_denied",
        "things_database_locked",
        "signing_backend_unavailable",
        "gpg_permission_denied",
    ),
    # The host application (Things, gpg) cannot do it right now.
    **_specs(
        503,
        EXIT_FAILED,
        "database_error",
        "database_not_found",
        "database_unreadable",
        "database_access_denied",
        "database_locked",
        "unsupported_schema",
        "write_unavailable",
        "gpg_timeout",
        "passphrase_required",
        "passphrase_unavailable",
        "bad_passphrase",
        "signing_failed",
        "signer_mismatch",
    ),
    **_specs(503, EXIT_USAGE, "sandbox_unavailable"),
    **_specs(400, EXIT_USAGE, "invalid_form", "shim_not_configured", "stand_in_refusal"),
    **_specs(502, EXIT_FAILED, "shim_error", "gpg_unavailable"),
    **_specs(503, EXIT_CONFLICT, "listen_failed"),
    # A call whose caller went away while a person decided: only ever in its decision record.
    **_specs(400, EXIT_FAILED, "cancelled"),
    # The terminal notifier's answers to the daemon (``agent-auth notify-terminal``).
    **_specs(401, EXIT_FAILED, "unauthenticated"),
    **_specs(403, EXIT_FAILED, "cross_origin_refused"),
    **_specs(410, EXIT_FAILED, "request_expired"),
    **_specs(411, EXIT_USAGE, "length_required"),
    **_specs(415, EXIT_USAGE, "json_required"),
    **_specs(503, EXIT_FAILED, "no_daemon_secret"),
    # The CLI's own (the person at the terminal typed or set up something it cannot use); the status is for
    # completeness, only the exit code is ever rendered.
    **_specs(
        400,
        EXIT_USAGE,
        "confirmation_needed",
        "empty_passphrase",
        "passphrase_mismatch",
        "unknown_scope",
        "ambiguous_family",
        "unsupported_platform",
        "config_invalid",
    ),
    **_specs(401, EXIT_FAILED, "not_logged_in", "access_token_expired"),
    **_specs(400, EXIT_FAILED, "invalid_url"),
    **_specs(503, EXIT_STORE, "store_unusable"),
    **_specs(503, EXIT_UNREACHABLE, "daemon_unavailable"),
    **_specs(403, EXIT_FAILED, "admin_socket_untrusted"),
    **_specs(502, EXIT_FAILED, "protocol_error", "malformed_response"),
    **_specs(
        500,
        EXIT_FAILED,
        "audit_unreadable",
        "credentials_corrupt",
        "passphrase_store_unavailable",
        "executable_not_found",
        "config_unreadable",
        "invalid_home",
        "service_start_failed",
    ),
    # The roots: an error raised as its package's base class, with no more precise code.
    **_specs(
        500,
        EXIT_FAILED,
        "internal_error",
        "not_prepared",
        "http_error",
        "essential_task_failed",
        "peer_credentials_unsupported",
        "agent_auth_error",
        "auth_error",
        "oauth_error",
        "things_error",
        "gpg_error",
    ),
}


def _bridge(wire: str, *codes: str) -> None:
    """The original bridges answer each of ``codes`` with their code ``wire`` (and ``wire``'s HTTP status)."""
    for code in codes:
        REGISTRY[code] = replace(REGISTRY[code], bridge=wire)


# Refusals of the gate: anything else about the token is ``unauthorized``.
_bridge("token_expired", "token_expired")
_bridge("scope_denied", "scope_denied", "approval_required")
_bridge("rate_limited", "rate_limited")
_bridge("authz_unavailable", "audit_unavailable")
# Things (the read routes): anything else is ``things_unavailable``; messages stay server-side (paths).
_bridge("not_found", "not_found")
_bridge("invalid_argument", "invalid_argument")
_bridge("things_database_locked", "database_locked")
_bridge("things_permission_denied", "database_unreadable", "database_access_denied")
# GPG: anything else is ``gpg_unavailable``. Policy refusals (how a key may be named, the allowlist, what may
# be signed) are the original's ``key_not_allowed``, which its gpg-cli reports as a refusal.
_bridge("payload_too_large", "payload_too_large")
_bridge("unsupported_operation", "unsupported_operation")
_bridge("invalid_request", "invalid_request", "invalid_notation", "payload_rejected")
_bridge(
    "key_not_allowed",
    "key_not_allowed",
    "ambiguous_key",
    "invalid_key_spec",
    "short_key_id",
    "payload_not_git_object",
    "payload_already_signed",
)
_bridge("no_such_key", "no_such_key")
_bridge("bad_signature", "bad_signature")
_bridge("signing_backend_unavailable", "gpg_timeout")
_bridge("gpg_permission_denied", "passphrase_required", "bad_passphrase", "passphrase_unavailable")


def _jsonrpc(number: int, *codes: str) -> None:
    """JSON-RPC answers each of ``codes`` with error number ``number``."""
    for code in codes:
        REGISTRY[code] = replace(REGISTRY[code], jsonrpc=number)


_jsonrpc(JSONRPC_TOKEN_REFUSED, "invalid_token", "token_expired", "token_revoked")
_jsonrpc(JSONRPC_INSUFFICIENT_SCOPE, "insufficient_scope")
_jsonrpc(JSONRPC_TOO_MANY_SESSIONS, "too_many_sessions")
_jsonrpc(JSONRPC_PARSE_ERROR, "malformed_request")

UNREGISTERED = ErrorSpec("unregistered", 400, EXIT_FAILED)


def spec_for(code: str) -> ErrorSpec:
    return REGISTRY.get(code, UNREGISTERED)


# --- renderers, one per transport ----------------------------------------------------------------


def http_status(code: str) -> int:
    """The HTTP status for ``code``."""
    return spec_for(code).http_status


def http_error(
    code: str,
    detail: str | None = None,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """``{**extra, "error": code, "detail"?: detail}`` with the code's status (or an explicit ``status``)."""
    from starlette.responses import JSONResponse

    body: dict[str, Any] = {**extra, "error": code}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status if status is not None else http_status(code), headers=headers)


def exit_code(error: CodedError | str) -> int:
    """The CLI's exit code for an error (or a bare code)."""
    return spec_for(error if isinstance(error, str) else error.code).exit_code


def bridge_error(code: str, detail: str | None = None, /, *, fallback: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    """``(status, {"error": wire, "detail"?: detail, **extra})`` on an original bridge route: ``wire`` is the
    bridge's own code for ``code``, or ``fallback`` (its catch-all) when it has none; the status is ``wire``'s."""
    wire = spec_for(code).bridge or fallback
    body: dict[str, Any] = {"error": wire}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return http_status(wire), body


def code_for_http_exception(status: int) -> str:
    """The code of a bare HTTP error the web framework raises (no route, wrong method), rendered at its status."""
    return {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")


def things_cli_exit(code: str, status: int | None = None) -> int:
    """things-cli's exit status for an error: by the HTTP status the daemon answered with (``status``), else the
    code's registered one — a bad argument 1, a token refused 2, a scope refused 3, not found 4, else 5."""
    by_status = {
        400: THINGS_CLI_EXIT_USAGE,
        401: THINGS_CLI_EXIT_AUTH,
        403: THINGS_CLI_EXIT_FORBIDDEN,
        404: THINGS_CLI_EXIT_NOT_FOUND,
    }
    return by_status.get(status if status is not None else http_status(code), THINGS_CLI_EXIT_UNAVAILABLE)


def admin_error(request_id: Any, code: str, message: str) -> dict[str, Any]:
    """The admin socket's error envelope."""
    return {"id": request_id, "error": {"code": code, "message": message}}


def jsonrpc_error(request_id: Any, code: str, message: str, **data: Any) -> dict[str, Any]:
    """A JSON-RPC 2.0 error response: the code's error number, ``message``, and ``data`` whose ``error`` is the
    code (the stable part for callers) with any further fields."""
    error = {"code": spec_for(code).jsonrpc, "message": message, "data": {"error": code, **data}}
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def tool_error_text(code: str, message: str) -> str:
    """The text of an MCP tool error: what happened and how to fix it, then the stable code in brackets."""
    return f"{message} [{code}]"
