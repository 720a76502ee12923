"""Wiring of ``tools/gpg`` into the daemon (MCP tools and the seed's REST bridge, through the gate).

:class:`Gpg` is the integration the composition root attaches: it builds one :class:`GpgIntegration` from
the settings — the allowlist, ``GNUPGHOME``, the gpg binary, the passphrase store — and contributes the MCP
tools (``gpg_tools.py``) and the seed's routes ``POST /gpg-bridge/v1/sign`` (scope ``gpg:sign``) and
``/gpg-bridge/v1/verify`` (``gpg:verify``, which ``gpg:sign`` implies), plus ``/gpg-bridge/health`` and
``/gpg-bridge/metrics``.

Authorization happens in the gate only: for a sign request the route first prepares the signing plan off
the event loop (``gpg_prepare.prepare_sign``: key resolved to one fingerprint, payload checked, the rows a
prompt shows), then the gate decides and records (``gate.admit`` with that prepared request; a prompt binds
to its digest), then exactly that plan signs in a worker thread. The call's ``decision`` record comes before
the signature and its ``call.result`` (fingerprint, payload SHA-256, summary, request id) after; a result
that cannot be recorded withholds the signature.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.gate import Decision, request_digest
from auth.principal import Principal, Unauthenticated
from auth.scopes import Tier
from mcp_server.daemon.bridge_http import ops_routes, ops_scopes, refusal, unauthorized
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.edge import identity_of
from mcp_server.errors import http_error
from mcp_server.integration import Contribution
from mcp_server.integrations.bridge_errors import gpg_bridge_answer, gpg_bridge_error
from mcp_server.integrations.gpg.passphrases import PassphraseStore, select_passphrase_store
from mcp_server.integrations.gpg.prepare import PreparedSign, prepare_sign
from mcp_server.settings import Settings, SettingsError
from tools.gpg.bridge import BridgeSignRequest, handle_verify, parse_sign_request, sign_response
from tools.gpg.errors import GpgError, InvalidRequestError, UnsupportedOperationError
from tools.gpg.keys import GpgKey
from tools.gpg.passphrase import PassphraseSource
from tools.gpg.payload import parse_git_payload
from tools.gpg.policy import GpgPolicy
from tools.gpg.runner import GpgRunner, Notation, RawSignature, RawVerification
from tools.gpg.service import GpgRunnerProtocol, GpgService

log = logging.getLogger(__name__)

SIGN_SCOPE = "gpg:sign"
VERIFY_SCOPE = "gpg:verify"
KEY_LISTING_TTL_SECONDS = 5.0
NOTATION_NAME = "request-id@agent-auth.local"


class CachedKeyListing:
    """A runner whose secret-key listing is reused for a few seconds.

    A signature needs the listing twice (the approval summary, then the signature itself); each listing is
    a gpg subprocess. Staleness is harmless: the runner signs with ``-u FPR!`` and checks ``SIG_CREATED``,
    so a key removed meanwhile fails at gpg, and a key added shows up within the TTL.
    """

    def __init__(
        self,
        runner: GpgRunnerProtocol,
        *,
        ttl_seconds: float = KEY_LISTING_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runner = runner
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[GpgKey] | None = None
        self._listed_at = 0.0

    def list_secret_keys(self) -> list[GpgKey]:
        with self._lock:
            if self._keys is not None and self._clock() - self._listed_at < self._ttl_seconds:
                return list(self._keys)
        keys = self._runner.list_secret_keys()
        with self._lock:
            self._keys, self._listed_at = keys, self._clock()
        return list(keys)

    def sign_detached(
        self,
        fingerprint: str,
        payload: bytes,
        *,
        passphrase: bytes | None = None,
        notations: Sequence[Notation] = (),
    ) -> RawSignature:
        return self._runner.sign_detached(fingerprint, payload, passphrase=passphrase, notations=notations)

    def verify_detached(self, signature: bytes, payload: bytes, *, keyid_format: str = "long") -> RawVerification:
        return self._runner.verify_detached(signature, payload, keyid_format=keyid_format)


def build_service(settings: Settings, passphrases: PassphraseSource | None = None) -> GpgService:
    """The GPG service the settings describe; raises :class:`SettingsError` for a bad allowlist entry."""
    try:
        policy = GpgPolicy(settings.gpg_allowed_keys)
    except GpgError as exc:
        raise SettingsError(f"setting 'gpg_allowed_keys': {exc.message}") from None
    # Not (yet) fields of Settings: read them when present so adding them there needs no change here.
    timeout_seconds = settings.gpg_timeout_seconds
    runner = GpgRunner(gnupghome=settings.gpg_home, gpg_binary=settings.gpg_binary, timeout_seconds=timeout_seconds)
    if passphrases is None:
        passphrases = select_passphrase_store(settings.key_store, settings.config_dir)
    return GpgService(CachedKeyListing(runner), policy, passphrases)


@dataclass
class GpgIntegration:
    """The daemon-side GPG surface: the service plus what every signature must leave in the audit log."""

    ctx: DaemonContext
    service: GpgService
    notations_enabled: bool = False
    new_request_id: Callable[[], str] = field(default=lambda: f"gs_{secrets.token_hex(8)}")

    def notations(self) -> tuple[str | None, tuple[Notation, ...]]:
        """A fresh request id, and the notation that stamps it into the signature when enabled."""
        if not self.notations_enabled:
            return None, ()
        request_id = self.new_request_id()
        return request_id, (Notation(NOTATION_NAME, request_id),)


# --- REST: the seed's /gpg-bridge/v1 routes -----------------------------------------------------------


def _refusal(decision: Decision) -> Response:
    approval = decision.approval
    if approval is not None and not approval.approved:
        return http_error(
            "scope_denied",
            f"the signing request was not approved on the host ({approval.reason})",
            valid=False,
            approval=approval.reason,
        )
    return refusal(decision)


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return _INVALID_JSON


_INVALID_JSON = object()


def _invalid_json() -> Response:
    status, body = gpg_bridge_error(InvalidRequestError("the request body is not valid JSON"))
    return JSONResponse(body, status_code=status)


def _plan(service: GpgService, body: object, target: str) -> tuple[BridgeSignRequest, PreparedSign]:
    request = parse_sign_request(body)
    if not request.armor:
        raise UnsupportedOperationError("only ASCII-armored signatures are produced; send armor: true")
    return request, prepare_sign(service, target, request.local_user, request.payload)


def verify_summary(payload: bytes) -> str:
    """A one-line description of a verify request for a prompt-tier approval; never raises."""
    try:
        summary = parse_git_payload(payload)
    except GpgError:
        return f"verify a signature over a {len(payload)}-byte payload"
    subject = getattr(summary, "subject", "")
    return f'verify the signature of a git {summary.kind} "{subject}"'


def _gpg_error(exc: GpgError) -> Response:
    status, error = gpg_bridge_error(exc)
    return JSONResponse(error, status_code=status)


def routes(gpg: GpgIntegration) -> list[Route]:
    ctx = gpg.ctx
    gate = ctx.gate

    async def sign(request: Request) -> Response:
        started = time.perf_counter()
        target = "POST /gpg-bridge/v1/sign"
        identity = identity_of(request.scope, gate)
        if isinstance(identity, Unauthenticated) and identity.code == "missing_token":
            return unauthorized()
        if not isinstance(identity, Principal) or identity.tier(SIGN_SCOPE) is Tier.DENY:
            # Refuse (and record) through the gate before revealing anything about keys or payloads.
            return _refusal(await gate.admit(identity, SIGN_SCOPE, surface="rest", target=target, started=started))
        body = await _json_body(request)
        if body is _INVALID_JSON:
            return _invalid_json()
        try:
            sign_request, prepared = await anyio.to_thread.run_sync(_plan, gpg.service, body, target)
        except GpgError as exc:
            # Refused before any decision or prompt; still one record for the call.
            refused = Decision(
                False, exc.code, identity.tier(SIGN_SCOPE), identity.family_id, identity.label, identity.token_id
            )
            written = gate.record_decision(refused, surface="rest", target=target, scope=SIGN_SCOPE, started=started)
            if written.code == "audit_unavailable":
                return _refusal(written)
            return _gpg_error(exc)
        plan = prepared.plan
        decision = await gate.admit(
            identity, SIGN_SCOPE, surface="rest", target=target, prepared=prepared.request, started=started
        )
        if not decision.allowed:
            return _refusal(decision)
        request_id, notations = gpg.notations()
        try:
            # The plan the person approved is the one signed: same key, same bytes.
            result = await anyio.to_thread.run_sync(lambda: gpg.service.sign_plan(plan, notations=notations))
        except GpgError as exc:
            gate.record_result(decision, exc.code, started=started, request_id=request_id)
            return _gpg_error(exc)
        recorded = gate.record_result(
            decision,
            "ok",
            started=started,
            fingerprint=result.fingerprint,
            payload_sha256=result.payload_sha256,
            summary=plan.summary,
            request_id=request_id,
        )
        if not recorded:
            return refusal(
                Decision(False, "audit_unavailable"), "the audit log is unwritable; the signature was withheld"
            )
        return JSONResponse(sign_response(sign_request, result))

    async def verify(request: Request) -> Response:
        started = time.perf_counter()
        target = "POST /gpg-bridge/v1/verify"
        identity = identity_of(request.scope, gate)
        if isinstance(identity, Unauthenticated) and identity.code == "missing_token":
            return unauthorized()
        body = await _json_body(request)
        summary = "verify a signature"
        if isinstance(body, dict) and isinstance(body.get("payload_b64"), str):
            with contextlib.suppress(binascii.Error, ValueError):
                summary = verify_summary(binascii.a2b_base64(body["payload_b64"]))
        arguments = body if isinstance(body, dict) else {"body": None}
        decision = await gate.admit(
            identity,
            VERIFY_SCOPE,  # gpg:sign implies it (the principal's effective scopes)
            surface="rest",
            target=target,
            digest=request_digest(target, arguments),
            summary=summary,
            started=started,
        )
        if not decision.allowed:
            return _refusal(decision)
        if body is _INVALID_JSON:
            gate.record_result(decision, "invalid_request", started=started)
            return _invalid_json()
        status, response = await anyio.to_thread.run_sync(gpg_bridge_answer, lambda: handle_verify(body, gpg.service))
        if not gate.record_result(decision, "ok" if status == 200 else str(response.get("error")), started=started):
            return refusal(Decision(False, "audit_unavailable"), "the audit log is unwritable; the answer was withheld")
        return JSONResponse(response, status_code=status)

    return [
        Route("/gpg-bridge/v1/sign", sign, methods=["POST"]),
        Route("/gpg-bridge/v1/verify", verify, methods=["POST"]),
    ]


# --- the surface ----------------------------------------------------------------------------------------


def announce_lines(settings: Settings, service: GpgService) -> list[str]:
    allowed = len(service.policy.allowed_fingerprints)
    home = settings.gpg_home or "~/.gnupg"
    if not allowed:
        return [
            "gpg signing  no keys allowlisted: gpg_sign and /gpg-bridge/v1/sign refuse every key "
            "(set gpg_allowed_keys or AGENT_AUTH_GPG_ALLOWED_KEYS to full fingerprints)"
        ]
    return [f"gpg signing  {allowed} allowed key{'s' if allowed != 1 else ''} in GNUPGHOME {home}"]


@dataclass
class Gpg:
    """The GPG integration: ``gpg_sign`` / ``gpg_verify`` / ``gpg_list_keys`` and the seed's ``/gpg-bridge/v1``.

    ``service`` may be given (tests); otherwise it is built from the settings at :meth:`attach`. After attaching,
    ``bound`` is the daemon-side state every signature goes through.
    """

    service: GpgService | None = None
    name: str = "gpg"
    bound: GpgIntegration | None = None

    @property
    def attached(self) -> GpgIntegration:
        """The daemon-side state built by :meth:`attach` (a lookup error before it)."""
        if self.bound is None:
            raise LookupError("the GPG integration is not attached to a daemon yet")
        return self.bound

    def attach(self, ctx: DaemonContext) -> Contribution:
        from mcp_server.integrations.gpg.mcp_tools import tool_specs

        settings = ctx.settings
        service = self.service if self.service is not None else build_service(settings)
        self.bound = gpg = GpgIntegration(ctx, service, notations_enabled=settings.gpg_sign_notations)
        ops = ops_routes(ctx, "gpg-bridge", lambda: shutil.which(settings.gpg_binary) is not None)
        return Contribution(
            tools=tool_specs(gpg),
            routes=[*routes(gpg), *ops],
            scopes={
                SIGN_SCOPE: "sign git commits and tags with an allowlisted GPG key",
                VERIFY_SCOPE: "verify GPG signatures and list the allowlisted keys",
                **ops_scopes("gpg-bridge"),
            },
            announce=announce_lines(settings, gpg.service),
        )


__all__ = [
    "NOTATION_NAME",
    "SIGN_SCOPE",
    "VERIFY_SCOPE",
    "CachedKeyListing",
    "Gpg",
    "GpgIntegration",
    "PassphraseStore",
    "build_service",
    "routes",
    "verify_summary",
]
