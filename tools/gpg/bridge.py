"""Framework-free handlers for the seed's REST routes ``POST /gpg-bridge/v1/sign`` and ``/verify``.

Each handler takes the decoded JSON body and a :class:`GpgService` and returns the body of a 200 answer
or raises a :class:`GpgError`; the daemon's router does HTTP, authentication and the approval gate around
them, and renders an error in the seed's codes (``gpg-bridge.v1.yaml``) through the project's one error
registry (``mcp_server.errors``), so no HTTP status is decided here:

* sign request ``{local_user, payload_b64, armor=true, status_fd_enabled=true, keyid_format="long"}``
  → ``{signature_b64, status_text, exit_code, resolved_key_fingerprint}``;
* verify request ``{signature_b64, payload_b64, keyid_format="long"}`` → ``{status_text, exit_code}`` for
  a good signature, else :class:`BadSignatureError` (the seed's 400 ``bad_signature``) carrying gpg's verdict;
* the seed's error codes: ``invalid_request`` (wrong types, bad base64), ``unsupported_operation``
  (``armor: false``), ``key_not_allowed`` (a key the allowlist does not hold, an empty allowlist, a short
  key id or other key name the naming rules refuse, a payload that is not an unsigned git object —
  ``detail`` names the rule), ``no_such_key``, ``payload_too_large``, ``gpg_unavailable``,
  ``signing_backend_unavailable`` (gpg timed out) and ``gpg_permission_denied`` (passphrase).

Additive fields, ignored by seed clients: every error also carries ``code`` (this package's precise
error code); a sign response adds ``payload_sha256`` and ``summary``; a ``bad_signature`` response
adds ``status_text`` and ``exit_code`` so the git shim can relay gpg's verdict.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tools.gpg.errors import BadSignatureError, InvalidRequestError, UnsupportedOperationError
from tools.gpg.runner import KEYID_FORMATS, Notation
from tools.gpg.service import GpgService, SignResult

__all__ = [
    "BridgeSignRequest",
    "BridgeVerifyRequest",
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


def handle_sign(body: object, service: GpgService, *, notations: Sequence[Notation] = ()) -> JsonBody:
    """``POST /gpg-bridge/v1/sign``. ``notations`` (e.g. the approval id) come from the caller."""
    request = parse_sign_request(body)
    if not request.armor:
        raise UnsupportedOperationError("only ASCII-armored signatures are produced; send armor: true")
    return sign_response(request, service.sign(request.local_user, request.payload, notations=notations))


def sign_response(request: BridgeSignRequest, result: SignResult) -> JsonBody:
    """The seed's answer to a sign request, from the signature made for it."""
    status_text = "".join(line + "\n" for line in result.status_lines) if request.status_fd_enabled else ""
    return {
        "signature_b64": _b64(result.signature),
        "status_text": status_text,
        "exit_code": 0,
        "resolved_key_fingerprint": result.fingerprint,
        "payload_sha256": result.payload_sha256,
        "summary": result.summary,
    }


def handle_verify(body: object, service: GpgService) -> JsonBody:
    """``POST /gpg-bridge/v1/verify``: the body for a good signature, else :class:`BadSignatureError`."""
    request = parse_verify_request(body)
    result = service.verify(request.signature, request.payload, keyid_format=request.keyid_format)
    status_text = "".join(line + "\n" for line in result.status_lines)
    if not result.valid:
        raise BadSignatureError(
            f"gpg did not find a good signature ({result.verdict or 'no signature data'})",
            status_text=status_text,
            exit_code=result.exit_code or 1,
        )
    return {"status_text": status_text, "exit_code": result.exit_code}
