"""The GPG tool: sign git payloads with allowlisted keys, verify signatures, and the git shim.

Public names resolve lazily, so ``agent-auth-gpg`` (``tools.gpg.shim``) starts without loading the
service, the runner or :mod:`typing`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tools.gpg.backend import SigningBackend
    from tools.gpg.bridge import handle_sign, handle_verify
    from tools.gpg.errors import GpgError
    from tools.gpg.keys import GpgKey
    from tools.gpg.passphrase import PassphraseSource
    from tools.gpg.policy import GpgPolicy
    from tools.gpg.runner import GpgRunner, Notation
    from tools.gpg.service import GpgService, SignPlan, SignResult, VerifyResult
    from tools.gpg.summary import summarize_sign

__all__ = [
    "GpgError",
    "GpgKey",
    "GpgPolicy",
    "GpgRunner",
    "GpgService",
    "Notation",
    "PassphraseSource",
    "SignPlan",
    "SignResult",
    "SigningBackend",
    "VerifyResult",
    "handle_sign",
    "handle_verify",
    "summarize_sign",
]

_HOMES = {
    "SigningBackend": "backend",
    "handle_sign": "bridge",
    "handle_verify": "bridge",
    "GpgError": "errors",
    "GpgKey": "keys",
    "PassphraseSource": "passphrase",
    "GpgPolicy": "policy",
    "GpgRunner": "runner",
    "Notation": "runner",
    "GpgService": "service",
    "SignPlan": "service",
    "SignResult": "service",
    "VerifyResult": "service",
    "summarize_sign": "summary",
}


def __getattr__(name: str) -> object:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'tools.gpg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"tools.gpg.{module}"), name)
