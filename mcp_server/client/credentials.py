"""Client credentials: a family's access/refresh pair and the daemon's URL, stored for this machine.

Stored in the OS keyring (service ``agent-auth-client``) when a real backend exists, else in a 0600 file
``$XDG_CONFIG_HOME/agent-auth/credentials.json``. Refreshing takes an exclusive file lock and re-reads
the stored pair first, so two processes refreshing at once never present the same refresh token twice
(which the daemon would treat as theft and revoke the family).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from auth.keyring_probe import real_keyring_backend
from mcp_server.client.http import request_json
from mcp_server.client.paths import client_config_dir
from mcp_server.errors import AgentAuthError

KEYRING_SERVICE = "agent-auth-client"
KEYRING_ENTRY = "credentials"
REFRESH_MARGIN_SECONDS = 60.0


class CredentialsError(AgentAuthError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Credentials:
    server_url: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float = 0.0
    family_id: str | None = None
    ca_cert: str | None = None

    def redacted(self) -> dict[str, Any]:
        now = time.time()
        return {
            "server_url": self.server_url,
            "family_id": self.family_id,
            "access_token": self.access_token[:11] + "…" if self.access_token else None,
            "refresh_token": self.refresh_token[:11] + "…" if self.refresh_token else None,
            "access_expires_in": max(0, int(self.access_expires_at - now)),
            "ca_cert": self.ca_cert,
        }


def _config_dir(env: dict[str, str] | None = None) -> Path:
    return Path(client_config_dir(env))


class CredentialStore:
    """Where this machine's client credentials live (keyring or a 0600 file)."""

    def __init__(self, *, config_dir: Path | None = None, use_keyring: bool | None = None) -> None:
        self.config_dir = config_dir or _config_dir()
        self.file = self.config_dir / "credentials.json"
        self.lock_file = self.config_dir / "credentials.lock"
        mode = os.environ.get("AGENT_AUTH_CREDENTIALS_STORE", "auto")
        if use_keyring is None:
            # In auto mode an existing file wins: it was written because no keyring was available at login,
            # and checking first keeps keyring's import (tens of ms) off every git commit and reconnect.
            use_keyring = mode == "keyring" or (
                mode == "auto" and not self.file.exists() and real_keyring_backend() is not None
            )
        self.use_keyring = use_keyring

    @property
    def description(self) -> str:
        return "OS keyring" if self.use_keyring else str(self.file)

    def load(self) -> Credentials | None:
        text: str | None
        if self.use_keyring:
            backend = real_keyring_backend()
            if backend is None:
                raise CredentialsError("keyring_unavailable", "no OS keyring backend is available")
            text = backend.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
        else:
            try:
                text = self.file.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = None
        if not text:
            return None
        try:
            data = json.loads(text)
            return Credentials(**{k: data[k] for k in Credentials.__dataclass_fields__ if k in data})
        except (ValueError, TypeError) as exc:
            raise CredentialsError("credentials_corrupt", f"stored credentials are unreadable ({exc})") from None

    def save(self, credentials: Credentials) -> None:
        text = json.dumps(asdict(credentials))
        if self.use_keyring:
            backend = real_keyring_backend()
            if backend is None:
                raise CredentialsError("keyring_unavailable", "no OS keyring backend is available")
            backend.set_password(KEYRING_SERVICE, KEYRING_ENTRY, text)
            with contextlib.suppress(FileNotFoundError):
                self.file.unlink()  # a stale file would shadow the keyring in auto mode
            return
        self._private_dir()
        tmp = self.file.with_name(f".credentials.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.file)

    def clear(self) -> bool:
        if self.use_keyring:
            backend = real_keyring_backend()
            if backend is not None:
                with contextlib.suppress(Exception):
                    backend.delete_password(KEYRING_SERVICE, KEYRING_ENTRY)
                    return True
            return False
        try:
            self.file.unlink()
            return True
        except FileNotFoundError:
            return False

    def _private_dir(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.config_dir.stat().st_mode & 0o077:
            os.chmod(self.config_dir, 0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self._private_dir()
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _apply_pair(credentials: Credentials, body: dict[str, Any]) -> Credentials:
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str):
        raise CredentialsError("malformed_response", "the daemon's answer has no token pair")
    credentials.access_token = access
    credentials.refresh_token = refresh
    credentials.access_expires_at = time.time() + float(body.get("expires_in") or 0)
    return credentials


def fresh_access_token(
    store: CredentialStore, *, margin_seconds: float = REFRESH_MARGIN_SECONDS, allow_reissue: bool = True
) -> Credentials:
    """Return credentials whose access token is valid for at least ``margin_seconds``.

    Refreshes when needed (under the lock, after re-reading what another process may have stored), and
    falls back to reissue — which waits for a person on the host to approve — when the refresh token has
    expired.
    """
    credentials = store.load()
    if credentials is None:
        raise CredentialsError(
            "not_logged_in",
            "no stored agent-auth credentials; run 'agent-auth login' (pipe it the JSON of 'agent-auth token "
            "create --json' from the host) or set AGENT_AUTH_TOKEN",
        )
    if credentials.access_expires_at - time.time() > margin_seconds:
        return credentials
    with store.locked():
        credentials = store.load() or credentials
        if credentials.access_expires_at - time.time() > margin_seconds:
            return credentials
        result = request_json(
            "POST",
            f"{credentials.server_url}/agent-auth/v1/token/refresh",
            body={"refresh_token": credentials.refresh_token},
            ca_cert=credentials.ca_cert,
        )
        if result.status == 200:
            store.save(_apply_pair(credentials, result.body))
            return credentials
        code = result.error_code or f"http_{result.status}"
        if code == "refresh_token_expired" and allow_reissue:
            reissued = request_json(
                "POST",
                f"{credentials.server_url}/agent-auth/v1/token/reissue",
                body={"refresh_token": credentials.refresh_token},
                ca_cert=credentials.ca_cert,
                timeout_seconds=300.0,
            )
            if reissued.status == 200:
                store.save(_apply_pair(credentials, reissued.body))
                return credentials
            code = reissued.error_code or f"http_{reissued.status}"
        hints = {
            "refresh_token_reuse_detected": "the family was revoked because a refresh token was used twice; "
            "create a new family on the host and log in again",
            "family_revoked": "the token family was revoked on the host; create a new one and log in again",
            "reissue_denied": "the host declined to issue new tokens",
        }
        raise CredentialsError(
            code, f"cannot refresh the access token ({code}): {hints.get(code, 'log in again with fresh tokens')}"
        )
