"""The REST handlers keep the seed's request/response shapes and, rendered by the daemon's registry, error codes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from gpg_support import GpgHome, commit_payload

from mcp_server.integrations.bridge_errors import gpg_bridge_answer
from tools.gpg import bridge
from tools.gpg.errors import GpgTimeoutError
from tools.gpg.policy import GpgPolicy
from tools.gpg.runner import Notation
from tools.gpg.service import GpgService


def handle_sign(body: object, service: GpgService, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """What the daemon answers: the handler's body, or its error in the seed's words."""
    return gpg_bridge_answer(lambda: bridge.handle_sign(body, service, **kwargs))


def handle_verify(body: object, service: GpgService) -> tuple[int, dict[str, Any]]:
    return gpg_bridge_answer(lambda: bridge.handle_verify(body, service))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sign_body(key: str, payload: bytes | None = None, **extra: object) -> dict[str, object]:
    return {"local_user": key, "payload_b64": _b64(payload or commit_payload()), **extra}


def test_sign_returns_the_seed_shape_and_the_signature_verifies(service: GpgService, gpg_home: GpgHome) -> None:
    status, body = handle_sign(_sign_body(gpg_home.alice), service)
    assert status == 200
    assert {"signature_b64", "status_text", "exit_code", "resolved_key_fingerprint"} <= set(body)
    assert body["exit_code"] == 0 and body["resolved_key_fingerprint"] == gpg_home.alice
    assert isinstance(body["status_text"], str) and "[GNUPG:] SIG_CREATED " in body["status_text"]
    assert isinstance(body["signature_b64"], str)
    verify_status, verify_body = handle_verify(
        {"signature_b64": body["signature_b64"], "payload_b64": _b64(commit_payload())}, service
    )
    assert verify_status == 200 and verify_body["exit_code"] == 0
    assert "[GNUPG:] GOODSIG " in str(verify_body["status_text"])


def test_status_text_is_empty_when_the_status_fd_is_disabled(service: GpgService, gpg_home: GpgHome) -> None:
    status, body = handle_sign(_sign_body(gpg_home.alice, status_fd_enabled=False), service)
    assert status == 200 and body["status_text"] == ""


def test_sign_passes_the_callers_notations_to_gpg(service: GpgService, gpg_home: GpgHome) -> None:
    status, _ = handle_sign(
        _sign_body(gpg_home.alice), service, notations=[Notation("agent-auth@example.org", "audit-7")]
    )
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"local_user": 5, "payload_b64": "eA=="},
        {"local_user": "", "payload_b64": "eA=="},
        {"local_user": "x", "payload_b64": 12},
        {"local_user": "x", "payload_b64": "not base64!!"},
        {"local_user": "x", "payload_b64": "eA==", "armor": "yes"},
        {"local_user": "x", "payload_b64": "eA==", "status_fd_enabled": 1},
        {"local_user": "x", "payload_b64": "eA==", "keyid_format": "weird"},
    ],
)
def test_malformed_sign_bodies_are_400_invalid_request(service: GpgService, body: object) -> None:
    status, response = handle_sign(body, service)
    assert (status, response["error"]) == (400, "invalid_request")


def test_bad_base64_in_verify_is_400_invalid_request(service: GpgService) -> None:
    status, response = handle_verify({"signature_b64": "%%%", "payload_b64": "eA=="}, service)
    assert (status, response["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("key_attr", "payload", "extra", "expected"),
    [
        ("mallory", None, {}, (403, "key_not_allowed", "key_not_allowed")),
        # Policy refusals are the original's 403 key_not_allowed, which its gpg-cli reports as a refusal.
        ("short", None, {}, (403, "key_not_allowed", "short_key_id")),
        ("email", None, {}, (403, "key_not_allowed", "key_not_allowed")),
        ("alice", b"not a commit\n", {}, (403, "key_not_allowed", "payload_not_git_object")),
        ("alice", commit_payload("x" * 70000), {}, (413, "payload_too_large", "payload_too_large")),
        ("alice", None, {"armor": False}, (400, "unsupported_operation", "unsupported_operation")),
    ],
)
def test_sign_refusals_map_to_the_seed_error_codes(
    service: GpgService,
    gpg_home: GpgHome,
    key_attr: str,
    payload: bytes | None,
    extra: dict[str, object],
    expected: tuple[int, str, str],
) -> None:
    named = {"short": gpg_home.alice[-8:], "email": "alice@example.org"}
    key = named[key_attr] if key_attr in named else getattr(gpg_home, key_attr)
    status, body = handle_sign(_sign_body(key, payload, **extra), service)
    assert (status, body["error"], body["code"]) == expected
    assert isinstance(body["detail"], str) and body["detail"]


def test_an_empty_allowlist_is_a_key_not_allowed_refusal_that_says_so(gpg_home: GpgHome) -> None:
    service = GpgService(gpg_home.runner(), GpgPolicy([]))
    status, body = handle_sign(_sign_body(gpg_home.alice), service)
    assert (status, body["error"], body["code"]) == (403, "key_not_allowed", "key_not_allowed")
    assert "allowlist is empty" in body["detail"]


def test_an_allowed_key_missing_from_the_keyring_is_404_no_such_key(gpg_home: GpgHome) -> None:
    missing = "F" * 40
    service = GpgService(gpg_home.runner(), GpgPolicy([missing]))
    status, body = handle_sign(_sign_body(missing), service)
    assert (status, body["error"]) == (404, "no_such_key")


def test_a_gpg_timeout_is_503_signing_backend_unavailable(gpg_home: GpgHome) -> None:
    class HangingRunner:
        def list_secret_keys(self) -> list[object]:
            raise GpgTimeoutError("gpg did not finish")

    service = GpgService(HangingRunner(), GpgPolicy([gpg_home.alice]))  # type: ignore[arg-type]
    status, body = handle_sign(_sign_body(gpg_home.alice), service)
    assert (status, body["error"], body["code"]) == (503, "signing_backend_unavailable", "gpg_timeout")


def test_a_tampered_payload_is_400_bad_signature_with_gpgs_status(service: GpgService, gpg_home: GpgHome) -> None:
    _, signed = handle_sign(_sign_body(gpg_home.alice), service)
    status, body = handle_verify(
        {"signature_b64": signed["signature_b64"], "payload_b64": _b64(commit_payload("tampered"))}, service
    )
    assert (status, body["error"], body["exit_code"]) == (400, "bad_signature", 1)
    assert "[GNUPG:] BADSIG " in str(body["status_text"])
