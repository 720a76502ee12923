"""One error vocabulary: every code an error class carries is registered, and each transport renders it as before."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Iterator

import pytest

import auth.errors
from auth.errors import AuthError, FamilyNotFoundError, KeyStoreError, StoreError
from auth.oauth_store import ConsentNotFoundError
from mcp_server.errors import (
    EXIT_CONFLICT,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_STORE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    REGISTRY,
    admin_error,
    exit_code,
    http_error,
    http_status,
    jsonrpc_error,
)
from mcp_server.mcp.refusals import TOKEN_REFUSED_ERROR_CODE, token_refused_error, token_refused_message

PACKAGES = ["auth", "tools", "mcp_server", "tui"]

# The status table the token routes used before the registry (the wire contract of the seed's token service).
TOKEN_ROUTE_STATUSES = {
    "invalid_token": 401,
    "token_expired": 401,
    "token_revoked": 401,
    "family_revoked": 401,
    "refresh_token_expired": 401,
    "refresh_token_reuse_detected": 401,
    "scope_denied": 403,
    "rate_limited": 429,
    "audit_unavailable": 503,
    "refresh_token_still_valid": 400,
    "reissue_denied": 403,
}


def error_classes() -> Iterator[type[BaseException]]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    yield obj


def all_subclasses(root: type[AuthError]) -> list[type[AuthError]]:
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_code_an_error_class_carries_is_in_the_registry() -> None:
    coded = {cls: cls.code for cls in error_classes() if isinstance(getattr(cls, "code", None), str)}
    assert len(coded) > 60, "the walk found too few error classes to be looking at the whole project"
    missing = {f"{cls.__module__}.{cls.__qualname__}": code for cls, code in coded.items() if code not in REGISTRY}
    assert missing == {}


def test_registry_entries_are_keyed_by_their_own_code() -> None:
    assert all(code == spec.code for code, spec in REGISTRY.items())
    assert all(100 <= spec.http_status < 600 for spec in REGISTRY.values())


@pytest.mark.parametrize(("code", "status"), sorted(TOKEN_ROUTE_STATUSES.items()))
def test_the_token_service_statuses_are_unchanged(code: str, status: int) -> None:
    assert http_status(code) == status


def test_an_unregistered_code_renders_as_a_bad_request() -> None:
    assert http_status("no_such_code_anywhere") == 400
    assert exit_code("no_such_code_anywhere") == EXIT_FAILED


def legacy_exit_code(error: AuthError) -> int:
    """What the CLI answered before the registry, by class."""
    if isinstance(error, FamilyNotFoundError | ConsentNotFoundError):
        return EXIT_NOT_FOUND  # the CLI's consent commands always said 3; the class now agrees with them
    if isinstance(error, KeyStoreError | StoreError):
        return EXIT_STORE
    if isinstance(error, ValueError):
        return EXIT_USAGE
    return EXIT_FAILED


def test_every_auth_error_exits_the_cli_with_the_code_it_always_had() -> None:
    importlib.import_module("auth.oauth_store")
    classes = all_subclasses(auth.errors.AuthError)
    assert len(classes) > 25
    for cls in classes:
        error = cls.__new__(cls)
        assert exit_code(error) == legacy_exit_code(error), cls.__qualname__


@pytest.mark.parametrize(
    ("code", "detail", "extra"),
    [("scope_denied", None, {"valid": False}), ("rate_limited", "wait", {}), ("family_revoked", "", {"x": 1})],
)
def test_the_http_renderer_writes_the_same_bytes_as_before(
    code: str, detail: str | None, extra: dict[str, object]
) -> None:
    status = http_status(code)
    rendered = http_error(code, detail, headers={"Retry-After": "3"}, **extra)
    legacy_body: dict[str, object] = {**extra, "error": code}
    if detail:
        legacy_body["detail"] = detail
    assert rendered.status_code == status
    assert rendered.body == json.dumps(legacy_body, ensure_ascii=False, separators=(",", ":")).encode()
    assert rendered.headers["retry-after"] == "3"
    explicit = http_error(code, detail, status=409, **extra)
    assert (explicit.status_code, explicit.body) == (409, rendered.body)


def test_the_admin_and_json_rpc_renderers_keep_their_envelopes() -> None:
    assert admin_error(7, "unknown_method", "no method 'x'") == {
        "id": 7,
        "error": {"code": "unknown_method", "message": "no method 'x'"},
    }
    # The token refusal's body, byte for byte what it was (number -32004, data.error the code).
    assert token_refused_error("token_expired", 3) == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {
            "code": TOKEN_REFUSED_ERROR_CODE,
            "message": token_refused_message("token_expired"),
            "data": {"error": "token_expired"},
        },
    }
    assert TOKEN_REFUSED_ERROR_CODE == -32004
    assert jsonrpc_error(None, "too_many_sessions", "close one", limit=4) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32005, "message": "close one", "data": {"error": "too_many_sessions", "limit": 4}},
    }


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("invalid_token", -32004),
        ("token_expired", -32004),
        ("token_revoked", -32004),
        ("insufficient_scope", -32003),
        ("too_many_sessions", -32005),
        ("malformed_request", -32700),
        ("scope_denied", -32000),
    ],
)
def test_json_rpc_numbers_come_from_the_registry(code: str, number: int) -> None:
    assert jsonrpc_error(1, code, "m")["error"]["code"] == number
    assert all(-32768 <= spec.jsonrpc <= -32000 for spec in REGISTRY.values())


def test_a_things_tool_error_reads_message_then_code() -> None:
    from mcp_server.integrations.things.extra import tool_error
    from tools.things.errors import NotFoundError

    error = NotFoundError("to-do", "abc")
    assert str(tool_error(error)) == f"{error} [not_found]"


# --- the original bridges: the seed's codes and statuses, now rendered from the registry -------------------

# What the Things bridge answered for each error class before its table moved into the registry.
THINGS_BRIDGE_BEFORE = {
    "DatabaseAccessDeniedError": (503, "things_permission_denied"),
    "DatabaseError": (502, "things_unavailable"),
    "DatabaseLockedError": (503, "things_database_locked"),
    "DatabaseNotFoundError": (502, "things_unavailable"),
    "DatabaseUnreadableError": (503, "things_permission_denied"),
    "InvalidArgumentError": (400, "invalid_argument"),
    "NotFoundError": (404, "not_found"),
    # The one change: the URL-scheme writer's rate limit (never raised on the read-only bridge) now answers
    # as every other rate_limited does on the bridges (before: 502 things_unavailable).
    "RateLimitedError": (429, "rate_limited"),
    "StandInRefusal": (502, "things_unavailable"),
    "ThingsError": (502, "things_unavailable"),
    "UnsupportedSchemaError": (502, "things_unavailable"),
    "WriteUnavailableError": (502, "things_unavailable"),
}
GPG_BRIDGE_BEFORE = {
    "AmbiguousKeyError": (403, "key_not_allowed"),
    "BadPassphraseError": (503, "gpg_permission_denied"),
    "BadSignatureError": (400, "bad_signature"),
    "BridgeRejectedError": (502, "gpg_unavailable"),
    "BridgeUnreachableError": (502, "gpg_unavailable"),
    "GpgError": (502, "gpg_unavailable"),
    "GpgTimeoutError": (503, "signing_backend_unavailable"),
    "GpgUnavailableError": (502, "gpg_unavailable"),
    "InvalidKeySpecError": (403, "key_not_allowed"),
    "InvalidNotationError": (400, "invalid_request"),
    "InvalidRequestError": (400, "invalid_request"),
    "KeyNotAllowedError": (403, "key_not_allowed"),
    "NoSuchKeyError": (404, "no_such_key"),
    "PassphraseRequiredError": (503, "gpg_permission_denied"),
    "PassphraseUnavailableError": (503, "gpg_permission_denied"),
    "PayloadAlreadySignedError": (403, "key_not_allowed"),
    "PayloadError": (400, "invalid_request"),
    "PayloadNotGitObjectError": (403, "key_not_allowed"),
    "PayloadTooLargeError": (413, "payload_too_large"),
    "ShimError": (502, "gpg_unavailable"),
    "ShimNotConfiguredError": (502, "gpg_unavailable"),
    "ShortKeyIdError": (403, "key_not_allowed"),
    "SignerMismatchError": (502, "gpg_unavailable"),
    "SigningFailedError": (502, "gpg_unavailable"),
    "UnsupportedOperationError": (400, "unsupported_operation"),
    "UsageError": (502, "gpg_unavailable"),
}
# A gate refusal on a bridge route, before: anything not listed was 401 unauthorized.
BRIDGE_REFUSALS_BEFORE = {
    "token_expired": (401, "token_expired"),
    "scope_denied": (403, "scope_denied"),
    "approval_required": (403, "scope_denied"),
    "rate_limited": (429, "rate_limited"),
    "audit_unavailable": (502, "authz_unavailable"),
    "invalid_token": (401, "unauthorized"),
    "token_revoked": (401, "unauthorized"),
    "family_revoked": (401, "unauthorized"),
    "missing_token": (401, "unauthorized"),
}


def test_every_things_error_answers_the_bridge_as_before() -> None:
    import tools.things.double  # noqa: F401  (StandInRefusal)
    from mcp_server.integrations.bridge_errors import things_bridge_error
    from tools.things.errors import InvalidArgumentError, ThingsError

    rendered = {}
    for cls in all_subclasses(ThingsError):  # type: ignore[arg-type]
        error = cls.__new__(cls)
        if isinstance(error, InvalidArgumentError):
            error.field = "limit"
        status, body = things_bridge_error(error)
        rendered[cls.__name__] = (status, body["error"])
        assert set(body) == ({"error", "field"} if isinstance(error, InvalidArgumentError) else {"error"})
    assert rendered == THINGS_BRIDGE_BEFORE


def test_every_gpg_error_answers_the_bridge_as_before() -> None:
    from mcp_server.integrations.bridge_errors import gpg_bridge_error
    from tools.gpg.errors import BadSignatureError, GpgError

    rendered = {}
    for cls in all_subclasses(GpgError):  # type: ignore[arg-type]
        try:
            error = cls("how to fix it")
        except TypeError:  # BridgeRejectedError also takes the daemon's answer
            error = cls.__new__(cls)
            error.message = "how to fix it"
        status, body = gpg_bridge_error(error)
        rendered[cls.__name__] = (status, body["error"])
        assert (body["detail"], body["code"]) == ("how to fix it", error.code)
    assert rendered == GPG_BRIDGE_BEFORE
    status, body = gpg_bridge_error(BadSignatureError("bad", status_text="[GNUPG:] BADSIG x\n", exit_code=1))
    assert (status, body["status_text"], body["exit_code"]) == (400, "[GNUPG:] BADSIG x\n", 1)


@pytest.mark.parametrize(("code", "expected"), sorted(BRIDGE_REFUSALS_BEFORE.items()))
def test_a_gate_refusal_answers_the_bridge_as_before(code: str, expected: tuple[int, str]) -> None:
    from auth.gate import Decision
    from mcp_server.daemon.bridge_http import refusal

    response = refusal(Decision(False, code, retry_after_seconds=2.0))
    assert (response.status_code, json.loads(response.body)) == (expected[0], {"error": expected[1]})
    assert ("www-authenticate" in response.headers) == (expected[0] == 401)
    assert ("retry-after" in response.headers) == (expected[0] == 429)


# --- the CLIs: exit codes from the registry -------------------------------------------------------------

# What each `agent-auth` command site answered before its UserError took the registry's exit code.
USER_ERROR_EXITS_BEFORE = {
    "store_unusable": EXIT_STORE,
    "malformed_input": EXIT_USAGE,
    "not_logged_in": EXIT_FAILED,
    "confirmation_needed": EXIT_USAGE,
    "consent_not_found": EXIT_NOT_FOUND,
    "invalid_scope": EXIT_USAGE,
    "invalid_home": EXIT_FAILED,
    "empty_passphrase": EXIT_USAGE,
    "passphrase_mismatch": EXIT_USAGE,
    "executable_not_found": EXIT_FAILED,
    "config_invalid": EXIT_USAGE,  # one of its two sites said 1 for the same bad file; both say 2 now
    "config_unreadable": EXIT_FAILED,
    "unknown_scope": EXIT_USAGE,
    "family_not_found": EXIT_NOT_FOUND,
    "ambiguous_family": EXIT_USAGE,
    "unsupported_platform": EXIT_USAGE,
    "service_start_failed": EXIT_FAILED,
    "invalid_settings": EXIT_USAGE,
    "daemon_unreachable": EXIT_UNREACHABLE,
    "daemon_unavailable": EXIT_UNREACHABLE,
    "already_serving": EXIT_CONFLICT,
    "listen_failed": EXIT_CONFLICT,
    "essential_task_failed": EXIT_FAILED,
    "sandbox_unavailable": EXIT_USAGE,
    "invalid_key_spec": EXIT_USAGE,
    "short_key_id": EXIT_USAGE,
    "passphrase_store_unavailable": EXIT_FAILED,
    "credentials_corrupt": EXIT_FAILED,
    "gpg_unavailable": EXIT_FAILED,
    "token_revoked": EXIT_FAILED,
    "token_expired": EXIT_FAILED,
    "refresh_token_expired": EXIT_FAILED,
    "invalid_url": EXIT_FAILED,
    "invalid_argument": EXIT_USAGE,
    "reserved_scope": EXIT_USAGE,
    "invalid_params": EXIT_USAGE,
}


@pytest.mark.parametrize(("code", "before"), sorted(USER_ERROR_EXITS_BEFORE.items()))
def test_a_cli_error_exits_as_its_command_did(code: str, before: int) -> None:
    from mcp_server.cli.app import UserError

    assert code in REGISTRY
    assert UserError("message", code=code).exit_code == before


def test_a_user_error_cannot_choose_its_exit_code() -> None:
    from mcp_server.cli.app import UserError

    assert "exit_code" not in inspect.signature(UserError).parameters
    # The one documented rule: a check that could not run exits 2, whatever stopped it.
    assert UserError("keys gone", code="keys_missing").exit_code == EXIT_STORE
    assert UserError("keys gone", code="keys_missing", check_could_not_run=True).exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("code", "status", "before"),
    [
        ("token_expired", 401, 2),
        ("unauthorized", 401, 2),
        ("scope_denied", 403, 3),
        ("not_found", 404, 4),
        ("invalid_argument", 400, 1),
        ("rate_limited", 429, 5),
        ("things_permission_denied", 503, 5),
        ("things_unavailable", 502, 5),
        ("authz_unavailable", 502, 5),
        ("http_418", 418, 5),
    ],
)
def test_things_cli_exits_as_the_original(code: str, status: int, before: int) -> None:
    from mcp_server.things_cli import CliError

    assert CliError(code, "message", status=status).exit_code == before
    if code in REGISTRY:
        assert CliError(code, "message").exit_code == before  # the code alone says the same
    assert CliError("not_logged_in", "no credentials").exit_code == 2
    assert CliError("daemon_unreachable", "down").exit_code == 5
