"""Is a stored login usable right now? One answer for ``status``, ``token header`` and ``doctor``.

The daemon is asked (``GET /agent-auth/v1/token/status``): a cached token can be revoked on the host long
before it expires, and a daemon that is not running makes every cached token useless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from mcp_server.client.credentials import Credentials
from mcp_server.client.http import DaemonUnreachableError, request_json

LoginState = Literal["ok", "refreshable", "expired", "revoked", "rejected", "unreachable"]
STATUS_TIMEOUT_SECONDS = 5.0

FIX_LOGIN = (
    "create a new family on the host and store it here: agent-auth token create --scope … --json | agent-auth login"
)
FIX_UNREACHABLE = (
    "start the daemon on the host ('agent-auth serve', or 'agent-auth service install' to keep it running), "
    "or point this client at it: agent-auth login --url URL"
)
FIX_EXPIRED = (
    "run 'agent-auth token header' to ask the host to reissue (a person approves it in 'agent-auth tui'), "
    "or " + FIX_LOGIN
)


@dataclass(frozen=True)
class LoginCheck:
    state: LoginState
    code: str
    detail: str
    fix: str | None = None
    token_status: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        return self.state in ("ok", "refreshable")


def _probe(credentials: Credentials, token: str) -> LoginCheck:
    url = credentials.server_url
    try:
        result = request_json(
            "GET",
            f"{url}/agent-auth/v1/token/status",
            bearer=token,
            ca_cert=credentials.ca_cert,
            timeout_seconds=STATUS_TIMEOUT_SECONDS,
        )
    except DaemonUnreachableError:
        return LoginCheck("unreachable", "daemon_unreachable", f"the daemon at {url} is not reachable", FIX_UNREACHABLE)
    except ValueError as exc:
        return LoginCheck("rejected", "invalid_url", str(exc), FIX_LOGIN)
    code = result.error_code or f"http_{result.status}"
    if result.status != 200:
        if code in ("token_revoked", "family_revoked"):
            return LoginCheck("revoked", code, "these tokens were revoked on the host", FIX_LOGIN)
        if code == "token_expired":
            return LoginCheck("expired", code, "the token has expired", FIX_EXPIRED)
        return LoginCheck("rejected", code, f"the daemon at {url} does not accept these tokens ({code})", FIX_LOGIN)
    body = result.body
    if body.get("revoked"):
        return LoginCheck("revoked", "token_revoked", "these tokens were revoked on the host", FIX_LOGIN, body)
    if int(body.get("expires_in") or 0) <= 0:
        return LoginCheck("expired", "token_expired", "the token has expired", FIX_EXPIRED, body)
    return LoginCheck("ok", "ok", "the daemon accepts these tokens", None, body)


def check_login(credentials: Credentials, *, margin_seconds: float = 0.0) -> LoginCheck:
    """Ask the daemon about the access token, or about the refresh token once the access token has expired."""
    if credentials.access_expires_at - time.time() > margin_seconds:
        access = _probe(credentials, credentials.access_token)
        if access.state != "expired":
            return access
    refresh = _probe(credentials, credentials.refresh_token)
    if refresh.state == "ok":
        return LoginCheck(
            "refreshable",
            "access_token_expired",
            "the access token has expired; the next 'agent-auth token header' (or client call) refreshes it",
            None,
            refresh.token_status,
        )
    if refresh.state == "expired":
        return LoginCheck("expired", "refresh_token_expired", "the refresh token has expired", FIX_EXPIRED)
    return refresh
