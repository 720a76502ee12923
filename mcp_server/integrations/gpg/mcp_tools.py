"""The GPG MCP tools: ``gpg_list_keys``, ``gpg_sign`` and ``gpg_verify``, as registry :class:`ToolSpec` s.

The tool functions hold no authorization code: ``mcp_server/mcp/enforcement.py`` filters, refuses, prepares
(``gpg_sign``: :func:`prepared_sign`, the plan a person approves and that then signs), asks a person and
records every call. ``gpg_list_keys`` needs ``gpg:verify``:
it is read-only and shows only public key metadata of allowlisted keys, and an agent must be able to look
up the fingerprint to sign with without waiting for an approval (``gpg:sign`` is usually prompt-tier).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from auth.prepared import PrepareError
from mcp_server.errors import tool_error_text
from mcp_server.integrations.gpg.prepare import prepare_sign
from mcp_server.integrations.gpg.wiring import SIGN_SCOPE, VERIFY_SCOPE, GpgIntegration
from mcp_server.mcp.enforcement import note_result
from mcp_server.mcp.registry import PreparedCall, ToolSpec, run_prepared
from tools.gpg.errors import GpgError, InvalidRequestError
from tools.gpg.service import SignResult

PayloadEncoding = Literal["utf-8", "base64"]

PAYLOAD_DOC = (
    "The exact bytes to sign/verify. By default (payload_encoding='utf-8') the text of the git object as "
    "git writes it (e.g. the output of `git cat-file commit HEAD` without its gpgsig header), including "
    "the final newline; use payload_encoding='base64' for a payload that is not UTF-8."
)


class AllowedKey(BaseModel):
    fingerprint: str = Field(description="primary key fingerprint")
    signing_fingerprints: list[str] = Field(description="allowlisted (sub)key fingerprints to sign with")
    user_ids: list[str]
    algorithm: str
    created_timestamp: int
    expires_timestamp: int | None


class AllowedKeys(BaseModel):
    keys: list[AllowedKey]
    note: str | None = None


class Signature(BaseModel):
    signature: str = Field(description="detached ASCII-armored OpenPGP signature")
    fingerprint: str = Field(description="the (sub)key that made the signature")
    payload_sha256: str
    summary: str = Field(description="what was signed, as shown for approval and written to the audit log")
    created_timestamp: int


class Verification(BaseModel):
    valid: bool = Field(description="true only for a good signature (gpg exit 0 and GOODSIG)")
    verdict: str | None = Field(description="GOODSIG, BADSIG, ERRSIG, EXPSIG, EXPKEYSIG, REVKEYSIG or null")
    fingerprint: str
    key_id: str
    user_id: str
    trust: str
    payload_sha256: str


def decode_payload(payload: str, encoding: str) -> bytes:
    """The bytes an MCP caller means; raises :class:`InvalidRequestError` for bad base64 or encoding."""
    if encoding == "utf-8":
        return payload.encode("utf-8")
    if encoding == "base64":
        try:
            return binascii.a2b_base64(payload.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise InvalidRequestError("the payload is not valid base64") from exc
    raise InvalidRequestError("payload_encoding must be 'utf-8' or 'base64'")


def _tool_error(exc: GpgError) -> ToolError:
    return ToolError(tool_error_text(exc.code, exc.message))


def sign_summary(gpg: GpgIntegration, args: Mapping[str, Any]) -> str:
    """The approval text of a ``gpg_sign`` call, computed without signing. Never raises."""
    try:
        payload = decode_payload(str(args.get("payload", "")), str(args.get("payload_encoding", "utf-8")))
        return gpg.service.prepare_sign(str(args.get("key", "")), payload).summary
    except GpgError as exc:
        return f"gpg_sign refused before approval ({exc.code}): {exc.message}"
    except Exception:  # a summary must never break the call; enforcement falls back to the tool name
        return "gpg_sign (the request could not be summarized)"


def prepared_sign(gpg: GpgIntegration, arguments: dict[str, Any]) -> PreparedCall:
    """Decode, check and resolve a ``gpg_sign`` call before any decision (a gpg key listing: blocking)."""
    try:
        payload = decode_payload(str(arguments["payload"]), str(arguments.get("payload_encoding", "utf-8")))
        prepared = prepare_sign(gpg.service, "gpg_sign", str(arguments["key"]), payload)
    except GpgError as exc:
        raise PrepareError(exc.message, reason=exc.code) from None
    plan = prepared.plan

    def sign() -> SignResult:
        request_id, notations = gpg.notations()
        note_result(summary=plan.summary, request_id=request_id)
        return gpg.service.sign_plan(plan, notations=notations)

    return PreparedCall(prepared.request, sign)


def tool_specs(gpg: GpgIntegration) -> list[ToolSpec]:
    service = gpg.service

    def gpg_list_keys() -> AllowedKeys:
        """List the GPG keys this server may sign with (allowlisted and present), with their fingerprints."""
        try:
            keys = service.list_keys()
        except GpgError as exc:
            raise _tool_error(exc) from None
        allowed = service.policy.allowed_fingerprints
        listed = [
            AllowedKey(
                fingerprint=key.fingerprint,
                signing_fingerprints=[
                    f for f in (key.fingerprint, *(sub.fingerprint for sub in key.subkeys)) if f in allowed
                ],
                user_ids=list(key.user_ids),
                algorithm=key.algorithm,
                created_timestamp=key.created_timestamp,
                expires_timestamp=key.expires_timestamp,
            )
            for key in keys
        ]
        note = None if allowed else "no keys are allowlisted on the host (gpg_allowed_keys); nothing can be signed"
        return AllowedKeys(keys=listed, note=note)

    def gpg_sign(
        payload: Annotated[str, Field(description=PAYLOAD_DOC)],
        key: Annotated[
            str,
            Field(description="the full fingerprint of an allowed key (see gpg_list_keys), or its exact user id"),
        ],
        payload_encoding: Annotated[PayloadEncoding, Field(description="how `payload` is encoded")] = "utf-8",
    ) -> Signature:
        """Make a detached, ASCII-armored signature of a git commit, tag or push certificate.

        The payload must parse as a git object without a signature; only allowlisted keys sign. Put the
        returned signature into the object's `gpgsig` header (commits) or append it (tags).
        """
        try:
            result: SignResult = run_prepared()  # the plan prepared (and approved) for this call, nothing else
        except GpgError as exc:
            note_result(error=exc.code)
            raise _tool_error(exc) from None
        return Signature(
            signature=result.signature.decode("ascii"),
            fingerprint=result.fingerprint,
            payload_sha256=result.payload_sha256,
            summary=result.summary,
            created_timestamp=result.created_timestamp,
        )

    def gpg_verify(
        signature: Annotated[str, Field(description="the detached ASCII-armored signature")],
        payload: Annotated[str, Field(description=PAYLOAD_DOC)],
        payload_encoding: Annotated[PayloadEncoding, Field(description="how `payload` is encoded")] = "utf-8",
    ) -> Verification:
        """Check a detached signature over a payload; a bad signature is a result (valid=false), not an error."""
        try:
            result = service.verify(signature.encode("utf-8"), decode_payload(payload, payload_encoding))
        except GpgError as exc:
            raise _tool_error(exc) from None
        return Verification(
            valid=result.valid,
            verdict=result.verdict,
            fingerprint=result.fingerprint,
            key_id=result.key_id,
            user_id=result.user_id,
            trust=result.trust,
            payload_sha256=result.payload_sha256,
        )

    return [
        ToolSpec(
            name="gpg_list_keys",
            fn=gpg_list_keys,
            scope=VERIFY_SCOPE,
            title="List signing keys",
            description="List the GPG keys this server may sign with: fingerprints, user ids, algorithm.",
            read_only=True,
            idempotent=True,
            summarize=lambda args: "list the allowlisted GPG signing keys",
        ),
        ToolSpec(
            name="gpg_sign",
            fn=gpg_sign,
            scope=SIGN_SCOPE,
            title="Sign a git object",
            description="Sign a git commit, tag or push certificate with an allowlisted GPG key (detached, "
            "ASCII-armored). " + PAYLOAD_DOC,
            summarize=lambda args: sign_summary(gpg, args),
            prepare=lambda arguments: prepared_sign(gpg, arguments),
            prepare_blocks=True,  # lists the secret keys (a gpg subprocess)
        ),
        ToolSpec(
            name="gpg_verify",
            fn=gpg_verify,
            scope=VERIFY_SCOPE,
            title="Verify a signature",
            description="Verify a detached GPG signature over a payload against the host's keyring.",
            read_only=True,
            idempotent=True,
            summarize=lambda args: "verify a GPG signature",
        ),
    ]
