"""Framework-free handlers for the seed's REST routes ``POST /gpg-bridge/v1/sign`` and ``/verify``.

Each handler takes the decoded JSON body and a :class:`GpgService` and returns ``(status, body)``;
the daemon's router does HTTP, authentication and the approval gate around them. Shapes and error
codes are the seed's (``gpg-bridge.v1.yaml``):

* sign request ``{local_user, payload_b64, armor=true, status_fd_enabled=true, keyid_format="long"}``
  → 200 ``{signature_b64, status_text, exit_code, resolved_key_fingerprint}``;
* verify request ``{signature_b64, payload_b64, keyid_format="long"}`` → 200 ``{status_text,
  exit_code}`` for a good signature, else 400 ``bad_signature``;
* errors ``{"error": <seed code>, "detail": <how to fix>}``: 400 ``invalid_request`` (wrong types,
  bad base64), 400 ``unsupported_operation`` (``armor: false``), 403 ``key_not_allowed`` (a key the
  allowlist does not hold, an empty allowlist, a short key id or other key name the naming rules refuse,
  a payload that is not an unsigned git object — ``detail`` names the rule), 404 ``no_such_key``,
  413 ``payload_too_large``, 502 ``gpg_unavailable``,
  503 ``signing_backend_unavailable`` (gpg timed out) and ``gpg_permission_denied`` (passphrase).

Additive fields, ignored by seed clients: every error also carries ``code`` (this package's precise
error code); a sign response adds ``payload_sha256`` and ``summary``; a ``bad_signature`` response
adds ``status_text`` and ``exit_code`` so the git shim can relay gpg's verdict.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tools.gpg.errors import (
    BadPassphraseError,
    BadSignatureError,
    GpgError,
    GpgTimeoutError,
    InvalidKeySpecError,
    InvalidRequestError,
    KeyNotAllowedError,
    NoSuchKeyError,
    PassphraseRequiredError,
    PassphraseUnavailableError,
    PayloadAlreadySignedError,
    PayloadNotGitObjectError,
    PayloadTooLargeError,
    UnsupportedOperationError,
)
from tools.gpg.runner import KEYID_FORMATS, Notation
from tools.gpg.service import GpgService, SignResult

__all__ = [
    "BridgeSignRequest",
    "BridgeVerifyRequest",
    "error_response",
    "handle_sign",
    "handle_verify",
    "parse_sign_request",
    "parse_verify_request",
    "sign_response",
]

JsonBody = dict[str, object]


@dataclass(frozen=True)
class BridgeSignRequest:
    local_user: str
    payload: bytes
    armor: bool = True
    status_fd_enabled: bool = True
    keyid_format: str = "long"


@dataclass(frozen=True)
class BridgeVerifyRequest:
    signature: bytes
    payload: bytes
    keyid_format: str = "long"


def _field(body: Mapping[str, object], name: str, kind: type, default: object = None) -> object:
    value = body.get(name, default)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidRequestError(f"'{name}' is required and must be a {kind.__name__}")
    return value


def _base64(body: Mapping[str, object], name: str) -> bytes:
    text = _field(body, name, str)
    assert isinstance(text, str)
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidRequestError(f"'{name}' is not valid base64") from exc


def _keyid_format(body: Mapping[str, object]) -> str:
    value = _field(body, "keyid_format", str, "long")
    if value not in KEYID_FORMATS:
        raise InvalidRequestError(f"'keyid_format' must be one of {', '.join(sorted(KEYID_FORMATS))}")
    assert isinstance(value, str)
    return value


def _mapping(body: object) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise InvalidRequestError("the request body must be a JSON object")
    return body


def parse_sign_request(body: object) -> BridgeSignRequest:
    """Validate a sign body's every field; raise :class:`InvalidRequestError` if one is wrong."""
    fields = _mapping(body)
    local_user = _field(fields, "local_user", str)
    assert isinstance(local_user, str)
    if not local_user:
        raise InvalidRequestError("'local_user' must be non-empty")
    return BridgeSignRequest(
        local_user=local_user,
        payload=_base64(fields, "payload_b64"),
        armor=bool(_field(fields, "armor", bool, True)),
        status_fd_enabled=bool(_field(fields, "status_fd_enabled", bool, True)),
        keyid_format=_keyid_format(fields),
    )


def parse_verify_request(body: object) -> BridgeVerifyRequest:
    fields = _mapping(body)
    return BridgeVerifyRequest(
        signature=_base64(fields, "signature_b64"),
        payload=_base64(fields, "payload_b64"),
        keyid_format=_keyid_format(fields),
    )


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# Most specific first: the first matching class decides the seed code and HTTP status.
# Policy refusals (how a key may be named, the allowlist, what may be signed) are the original's 403
# ``key_not_allowed``, which its gpg-cli reports as a refusal; ``detail`` names the rule, ``code`` is ours.
_ERROR_MAP: tuple[tuple[type[GpgError], int, str], ...] = (
    (PayloadTooLargeError, 413, "payload_too_large"),
    (UnsupportedOperationError, 400, "unsupported_operation"),
    (InvalidKeySpecError, 403, "key_not_allowed"),
    (PayloadNotGitObjectError, 403, "key_not_allowed"),
    (PayloadAlreadySignedError, 403, "key_not_allowed"),
    (InvalidRequestError, 400, "invalid_request"),
    (KeyNotAllowedError, 403, "key_not_allowed"),
    (NoSuchKeyError, 404, "no_such_key"),
    (BadSignatureError, 400, "bad_signature"),
    (GpgTimeoutError, 503, "signing_backend_unavailable"),
    (PassphraseRequiredError, 503, "gpg_permission_denied"),
    (BadPassphraseError, 503, "gpg_permission_denied"),
    (PassphraseUnavailableError, 503, "gpg_permission_denied"),
)


def error_response(exc: GpgError) -> tuple[int, JsonBody]:
    """The seed-compatible ``(status, {"error", "detail", "code"})`` for a package error."""
    for kind, status, seed_code in _ERROR_MAP:
        if isinstance(exc, kind):
            return status, {"error": seed_code, "detail": exc.message, "code": exc.code}
    return 502, {"error": "gpg_unavailable", "detail": exc.message, "code": exc.code}


def handle_sign(
    body: object,
    service: GpgService,
    *,
    notations: Sequence[Notation] = (),
) -> tuple[int, JsonBody]:
    """``POST /gpg-bridge/v1/sign``. ``notations`` (e.g. the approval id) come from the caller."""
    try:
        request = parse_sign_request(body)
        if not request.armor:
            raise UnsupportedOperationError("only ASCII-armored signatures are produced; send armor: true")
        result = service.sign(request.local_user, request.payload, notations=notations)
    except GpgError as exc:
        return error_response(exc)
    return sign_response(request, result)


def sign_response(request: BridgeSignRequest, result: SignResult) -> tuple[int, JsonBody]:
    """The seed's 200 answer to a sign request, from the signature made for it."""
    status_text = "".join(line + "\n" for line in result.status_lines) if request.status_fd_enabled else ""
    return 200, {
        "signature_b64": _b64(result.signature),
        "status_text": status_text,
        "exit_code": 0,
        "resolved_key_fingerprint": result.fingerprint,
        "payload_sha256": result.payload_sha256,
        "summary": result.summary,
    }


def handle_verify(body: object, service: GpgService) -> tuple[int, JsonBody]:
    """``POST /gpg-bridge/v1/verify``: 200 for a good signature, 400 ``bad_signature`` otherwise."""
    try:
        request = parse_verify_request(body)
        result = service.verify(request.signature, request.payload, keyid_format=request.keyid_format)
    except GpgError as exc:
        return error_response(exc)
    status_text = "".join(line + "\n" for line in result.status_lines)
    if result.valid:
        return 200, {"status_text": status_text, "exit_code": result.exit_code}
    return 400, {
        "error": "bad_signature",
        "detail": f"gpg did not find a good signature ({result.verdict or 'no signature data'})",
        "code": BadSignatureError.code,
        "status_text": status_text,
        "exit_code": result.exit_code or 1,
    }
