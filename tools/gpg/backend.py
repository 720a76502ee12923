"""The seam between the git shim and whatever makes signatures: :class:`SigningBackend`.

The shim's default backend is :class:`tools.gpg.shim.HttpBridgeBackend`; tests and other hosts pass
their own. Kept out of ``shim.py`` so the shim does not import :mod:`typing` on every commit.
"""

from __future__ import annotations

from typing import Protocol

from tools.gpg.shim import ShimSignResult, ShimVerifyResult

__all__ = ["ShimSignResult", "ShimVerifyResult", "SigningBackend"]


class SigningBackend(Protocol):
    """Makes and checks signatures for the shim. Raise a :class:`tools.gpg.errors.GpgError` on failure.

    ``sign`` returns the armored detached signature and gpg's status lines (must include
    ``SIG_CREATED``); ``verify`` returns gpg's status lines and exit code (0 good, 1 bad, 2 error).
    """

    def sign(self, key: str, payload: bytes) -> ShimSignResult: ...

    def verify(self, signature: bytes, payload: bytes, keyid_format: str) -> ShimVerifyResult: ...
