"""The authenticated HTTP notifier protocol: both directions signed with a per-daemon secret.

The seed posted ``{family_id, scope, description}`` and believed any ``{"approved": true}`` that came back,
so whoever held the port (another uid, a web page posting cross-origin) could approve. Now:

- at start the daemon writes a fresh 32-byte secret to ``notifier.secret`` in its runtime directory (0600,
  directory 0700): only the person's uid can read it;
- each request carries a fresh ``nonce`` and ``expires_at`` and the header
  ``X-Agent-Auth-Signature: v1=<hex HMAC-SHA256(secret, "agent-auth-request\\0" + body)>``; the notifier
  answers only requests with a valid signature that have not expired;
- the answer must echo the ``nonce`` and carry ``X-Agent-Auth-Signature: v1=<hex HMAC-SHA256(secret,
  "agent-auth-answer\\0" + body)>``. An unsigned, mis-signed, late or mismatched answer is a denial.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from auth.fsutil import ensure_private_dir, write_private_file
from mcp_server.errors import AgentAuthError

SIGNATURE_HEADER = "X-Agent-Auth-Signature"
SECRET_BYTES = 32
_REQUEST_CONTEXT = b"agent-auth-request\0"
_ANSWER_CONTEXT = b"agent-auth-answer\0"


class NotifierSecretError(AgentAuthError):
    """The notifier secret file is missing, unreadable, not ours or not private."""


def create_secret(path: Path) -> bytes:
    """A fresh per-daemon secret, written hex-encoded to ``path`` (0600, directory 0700)."""
    secret = secrets.token_bytes(SECRET_BYTES)
    ensure_private_dir(path.parent)
    write_private_file(path, secret.hex().encode())
    return secret


def read_secret(path: Path) -> bytes:
    """The secret in ``path``, refused unless the file and its directory belong to this uid and are private."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise NotifierSecretError(f"cannot read the notifier secret {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        parent = os.stat(path.parent)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise NotifierSecretError(f"the notifier secret {path} is not a private file of this user")
        if parent.st_uid != os.getuid() or stat.S_IMODE(parent.st_mode) & 0o077:
            raise NotifierSecretError(f"the directory of {path} is not private to this user (want 0700)")
        raw = os.read(fd, 4 * SECRET_BYTES).strip()
    finally:
        os.close(fd)
    try:
        secret = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise NotifierSecretError(f"the notifier secret {path} is malformed") from None
    if len(secret) != SECRET_BYTES:
        raise NotifierSecretError(f"the notifier secret {path} is malformed")
    return secret


def _mac(secret: bytes, context: bytes, body: bytes) -> str:
    return "v1=" + hmac.new(secret, context + body, hashlib.sha256).hexdigest()


def sign_request(secret: bytes, body: bytes) -> str:
    return _mac(secret, _REQUEST_CONTEXT, body)


def sign_answer(secret: bytes, body: bytes) -> str:
    return _mac(secret, _ANSWER_CONTEXT, body)


def request_is_signed(secret: bytes, body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(signature.encode(), sign_request(secret, body).encode())


def answer_is_signed(secret: bytes, body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(signature.encode(), sign_answer(secret, body).encode())
