"""The original agent-auth clients' wire protocol, as they speak it, for tests against our daemon.

``things-cli`` and ``gpg-cli`` from the original project talk plain HTTP/1.1 through ``http.client`` with
fixed request shapes, and decide what to do from the status and the ``error`` code alone. This module
sends exactly those shapes and applies the same decisions, so a test can say "the original client would
have done X" without the original's code:

* token service: ``POST /agent-auth/v1/validate {token, required_scope[, description]}``,
  ``/token/refresh {refresh_token}``, ``/token/reissue {family_id}`` (never the refresh token),
  ``GET /token/status`` with a bearer, the management routes with the management token as bearer;
* its retry ladder: call → 401 ``token_expired`` → refresh (persisting the new pair) → on
  ``refresh_token_expired`` reissue by family id → retry once; a 400 from refresh or reissue is not an
  authorization error to the original library, so it escapes as a crash (a traceback);
* ``gpg-cli``'s exit codes: 0 ok, 1 bad signature, 3 unauthorized, 4 forbidden / not found,
  5 unavailable (also rate limited and signing backend unavailable).

Every answer is checked against our OpenAPI documents and its error code recorded, so a test can also
assert that no code outside the original's lists reached an original client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlparse

from tests.support.openapi import RoutingChecker

# The error codes each original client knows, per route family (from the original's OpenAPI documents).
ORIGINAL_CODES: dict[str, frozenset[str]] = {
    "/agent-auth/": frozenset(
        {
            "authz_unavailable",
            "family_not_found",
            "family_revoked",
            "invalid_token",
            "invalid_tier",
            "malformed_request",
            "method_not_allowed",
            "missing_token",
            "no_modifications",
            "no_scopes",
            "not_found",
            "rate_limited",
            "refresh_token_expired",
            "refresh_token_reuse_detected",
            "refresh_token_still_valid",
            "reissue_denied",
            "scope_denied",
            "token_expired",
            "token_revoked",
            "unauthorized",
        }
    ),
    "/things-bridge/": frozenset(
        {
            "authz_unavailable",
            "method_not_allowed",
            "not_found",
            "rate_limited",
            "scope_denied",
            "things_permission_denied",
            "things_unavailable",
            "token_expired",
            "unauthorized",
        }
    ),
    "/gpg-bridge/": frozenset(
        {
            "authz_unavailable",
            "bad_signature",
            "gpg_permission_denied",
            "gpg_unavailable",
            "invalid_request",
            "key_not_allowed",
            "no_such_key",
            "not_found",
            "payload_too_large",
            "rate_limited",
            "scope_denied",
            "signing_backend_unavailable",
            "token_expired",
            "unauthorized",
            "unsupported_operation",
        }
    ),
}

EXIT_OK, EXIT_BAD_SIG, EXIT_UNAUTHORIZED, EXIT_FORBIDDEN, EXIT_UNAVAILABLE = 0, 1, 3, 4, 5


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> str:
        return str(self.body.get("error") or "") if isinstance(self.body, dict) else ""


class OriginalCrash(Exception):
    """What the original library does with a status it does not expect: an uncaught exception."""


class Refused(Exception):
    """A terminal authorization error the original client reports (things-cli exits non-zero)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Wire:
    """One original client's connection settings; records every (path, status, error) it saw."""

    base_url: str
    checker: RoutingChecker = field(default_factory=RoutingChecker)
    seen: list[tuple[str, int, str]] = field(default_factory=list)

    def request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, bearer: str | None = None
    ) -> Answer:
        url = urlparse(self.base_url)
        assert url.hostname is not None and url.port is not None
        headers = {"Accept": "application/json"}
        raw: bytes | None = None
        if body is not None:
            raw = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(raw))
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        conn = HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(method, path, body=raw, headers=headers)
            response = conn.getresponse()
            data = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        self.checker.check(method, path.split("?")[0], response.status, answer_headers, data)
        content_type = answer_headers.get("content-type", "")
        parsed: Any = json.loads(data) if data and content_type.startswith("application/json") else data.decode()
        answer = Answer(response.status, parsed, answer_headers)
        self.seen.append((path.split("?")[0], answer.status, answer.error))
        return answer

    def foreign_codes(self) -> list[tuple[str, int, str]]:
        """Answers whose error code the original client for that route does not know."""
        foreign = []
        for path, status, code in self.seen:
            known = next((codes for prefix, codes in ORIGINAL_CODES.items() if path.startswith(prefix)), None)
            if code and known is not None and code not in known:
                foreign.append((path, status, code))
        return foreign


# --- the token service, as the original AgentAuthClient calls it -------------------------------------


@dataclass
class Credentials:
    access_token: str
    refresh_token: str
    family_id: str | None


def refresh(wire: Wire, refresh_token: str) -> Answer:
    return wire.request("POST", "/agent-auth/v1/token/refresh", body={"refresh_token": refresh_token})


def reissue(wire: Wire, family_id: str) -> Answer:
    return wire.request("POST", "/agent-auth/v1/token/reissue", body={"family_id": family_id})


def status(wire: Wire, access_token: str | None) -> Answer:
    return wire.request("GET", "/agent-auth/v1/token/status", bearer=access_token)


def _rotate(answer: Answer, credentials: Credentials) -> None:
    credentials.access_token = str(answer.body["access_token"])
    credentials.refresh_token = str(answer.body["refresh_token"])
    int(answer.body["expires_in"])  # the original parses it; a missing or non-integer value crashes it


def _terminal(answer: Answer) -> Exception:
    """The original library's mapping of a refresh / reissue failure."""
    if answer.status == 400:
        return OriginalCrash(f"MalformedRequestError({answer.error or 'malformed_request'})")
    if answer.status in (401, 403, 429):
        return Refused(answer.error)
    return OriginalCrash(f"unexpected {answer.status}")


def with_retry(wire: Wire, credentials: Credentials, call: Callable[[str], Answer]) -> Answer:
    """The original clients' ladder: one refresh (or family-id reissue) on ``token_expired``, one retry."""
    first = call(credentials.access_token)
    if not (first.status == 401 and first.error == "token_expired"):
        return first
    refreshed = refresh(wire, credentials.refresh_token)
    if refreshed.status == 200:
        _rotate(refreshed, credentials)
    elif refreshed.status in (401, 403) and refreshed.error == "refresh_token_expired":
        if not credentials.family_id:
            raise Refused("no_family_id")
        reissued = reissue(wire, credentials.family_id)
        if reissued.status != 200:
            raise _terminal(reissued)
        _rotate(reissued, credentials)
    else:
        raise _terminal(refreshed)
    second = call(credentials.access_token)
    if second.status == 401 and second.error == "token_expired":
        raise Refused("token_expired")
    return second


# --- the bridges, as things-cli and gpg-cli call them ---------------------------------------------------


def things_get(wire: Wire, path: str) -> Callable[[str], Answer]:
    return lambda token: wire.request("GET", "/things-bridge/v1" + path, bearer=token)


def gpg_sign(wire: Wire, local_user: str, payload: bytes) -> Callable[[str], Answer]:
    body = {
        "local_user": local_user,
        "payload_b64": base64.b64encode(payload).decode("ascii"),
        "armor": True,
        "status_fd_enabled": True,
        "keyid_format": "long",
    }
    return lambda token: wire.request("POST", "/gpg-bridge/v1/sign", body=body, bearer=token)


def gpg_verify(wire: Wire, signature: bytes, payload: bytes) -> Callable[[str], Answer]:
    body = {
        "signature_b64": base64.b64encode(signature).decode("ascii"),
        "payload_b64": base64.b64encode(payload).decode("ascii"),
        "keyid_format": "long",
    }
    return lambda token: wire.request("POST", "/gpg-bridge/v1/verify", body=body, bearer=token)


def gpg_cli_exit(answer: Answer) -> int:
    """The exit code the original gpg-cli gives for a bridge answer (its BridgeClient + main mapping)."""
    if 200 <= answer.status < 300:
        return EXIT_OK
    if answer.status == 401:
        return EXIT_UNAUTHORIZED
    if answer.status in (403, 404):
        return EXIT_FORBIDDEN
    if answer.status == 400 and answer.error == "bad_signature":
        return EXIT_BAD_SIG
    return EXIT_UNAVAILABLE  # 429, 503 signing_backend_unavailable, and anything else: "bridge unavailable"
