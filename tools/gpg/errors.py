"""The error hierarchy of the GPG domain package.

Every error carries a stable snake_case ``code`` (what callers and tests branch on) and a message
saying how to fix the problem. The daemon renders them in the seed's HTTP error codes (``mcp_server.errors``); the
shim prints the message on one line. Kept dependency-free so the git shim can import it cheaply.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousKeyError",
    "BadPassphraseError",
    "BadSignatureError",
    "BridgeRejectedError",
    "BridgeUnreachableError",
    "GpgError",
    "GpgTimeoutError",
    "GpgUnavailableError",
    "InvalidKeySpecError",
    "InvalidNotationError",
    "InvalidRequestError",
    "KeyNotAllowedError",
    "NoSuchKeyError",
    "PassphraseRequiredError",
    "PassphraseUnavailableError",
    "PayloadAlreadySignedError",
    "PayloadError",
    "PayloadNotGitObjectError",
    "PayloadTooLargeError",
    "ShimError",
    "ShimNotConfiguredError",
    "ShortKeyIdError",
    "SignerMismatchError",
    "SigningFailedError",
    "UnsupportedOperationError",
    "UsageError",
]


class GpgError(Exception):
    """Base of every error raised by :mod:`tools.gpg`."""

    code: str = "gpg_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Requests that are wrong before gpg ever runs -------------------------------------------------


class InvalidRequestError(GpgError):
    """The request is malformed (wrong types, bad base64, unsupported option)."""

    code = "invalid_request"


class UnsupportedOperationError(InvalidRequestError):
    """The request asks for something this service does not do (e.g. a non-armored signature)."""

    code = "unsupported_operation"


class InvalidKeySpecError(InvalidRequestError):
    """A key name could inject options or lines into gpg's argv (leading ``-``, NUL, newline...)."""

    code = "invalid_key_spec"


class ShortKeyIdError(InvalidKeySpecError):
    """A short (8-hex) key id or a fingerprint suffix was used where a full fingerprint is required."""

    code = "short_key_id"


class InvalidNotationError(InvalidRequestError):
    """An OpenPGP notation is not of the form ``name@domain=value`` with printable text."""

    code = "invalid_notation"


class PayloadError(InvalidRequestError):
    """The payload is not something this service agrees to sign."""

    code = "payload_rejected"


class PayloadTooLargeError(PayloadError):
    code = "payload_too_large"


class PayloadNotGitObjectError(PayloadError):
    """The payload does not parse as a git commit, tag or push certificate."""

    code = "payload_not_git_object"


class PayloadAlreadySignedError(PayloadError):
    """The payload already carries a ``gpgsig`` header or an embedded signature block."""

    code = "payload_already_signed"


# --- Key selection ---------------------------------------------------------------------------------


class KeyNotAllowedError(GpgError):
    """The key is not on the signing allowlist."""

    code = "key_not_allowed"


class AmbiguousKeyError(KeyNotAllowedError):
    """A user id or long key id matches more than one allowed key."""

    code = "ambiguous_key"


class NoSuchKeyError(GpgError):
    """The key is allowed but its secret part is not in the configured GNUPGHOME."""

    code = "no_such_key"


# --- gpg itself ------------------------------------------------------------------------------------


class SigningFailedError(GpgError):
    """gpg refused to sign for a reason not covered by a more specific error."""

    code = "signing_failed"


class PassphraseRequiredError(SigningFailedError):
    code = "passphrase_required"


class PassphraseUnavailableError(SigningFailedError):
    """A passphrase is stored for the key but its store (the OS keyring) could not be read."""

    code = "passphrase_unavailable"


class BadPassphraseError(SigningFailedError):
    code = "bad_passphrase"


class SignerMismatchError(SigningFailedError):
    """gpg reported a signature by a different key than the one requested."""

    code = "signer_mismatch"


class BadSignatureError(GpgError):
    """A signature does not verify against its payload; ``status_text`` and ``exit_code`` are gpg's verdict
    (when gpg ran), which the git shim relays."""

    code = "bad_signature"

    def __init__(self, message: str, *, status_text: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.status_text = status_text
        self.exit_code = exit_code


class GpgTimeoutError(GpgError):
    """gpg did not finish in time; its process group was killed and the agent restarted."""

    code = "gpg_timeout"


class GpgUnavailableError(GpgError):
    """The gpg binary is missing, crashed, or produced output we do not understand."""

    code = "gpg_unavailable"


# --- The git shim ----------------------------------------------------------------------------------


class ShimError(GpgError):
    """A failure of the ``agent-auth-gpg`` program git runs as ``gpg.program``."""

    code = "shim_error"


class UsageError(ShimError):
    """The command line is not one of the forms git uses (see ``agent-auth-gpg --help``)."""

    code = "usage"


class ShimNotConfiguredError(ShimError):
    code = "shim_not_configured"


class BridgeUnreachableError(ShimError):
    """The agent-auth daemon did not answer (not running, wrong URL, network down)."""

    code = "bridge_unreachable"


class BridgeRejectedError(ShimError):
    """The daemon answered with an error envelope; ``code`` is the daemon's error code."""

    def __init__(self, message: str, *, code: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
