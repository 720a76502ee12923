"""Mounts the authorization server beside ``/mcp``: the SDK's routes, the consent page, admin methods.

The SDK's ``create_auth_routes`` serves RFC 8414 metadata, registration (RFC 7591), authorize, token and
revocation with our provider; its issuer is the daemon's URL, which is also what the protected-resource
metadata of ``/mcp`` names, so the two documents agree. The admin socket gains ``consent.list`` and
``consent.decide``: the only way a consent is answered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import anyio
from mcp.server.auth.routes import create_auth_routes, validate_issuer_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.oauth_store import Consent, OAuthStore
from auth.scopes import Tier, parse_tier, validate_scope
from auth.untrusted import neutralise
from mcp_server.daemon.admin_socket import current_channel
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.http import read_body, replaying
from mcp_server.errors import http_status
from mcp_server.oauth.consent_page import CONSENT_PATH, ConsentWaiters, consent_routes
from mcp_server.oauth.provider import AgentAuthProvider

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 300.0
MAX_TOKEN_FORM_BYTES = 64 * 1024


class ResourceCheck:
    """Refuse a token request whose ``resource`` (RFC 8707) is not this daemon's /mcp (``invalid_target``).

    The SDK's token handler does not compare the token request's ``resource``; codes are only ever bound to
    our resource, so anything else is a client asking for a token for another server.
    """

    def __init__(self, app: ASGIApp, resource: str) -> None:
        self.app = app
        self.resource = resource

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_TOKEN_FORM_BYTES)
        if body is None:
            refused = b'{"error":"invalid_request","error_description":"token requests are limited to 64 KiB"}'
            await _json(send, http_status("invalid_request"), refused)
            return
        try:
            form = parse_qs(body.decode("ascii"), max_num_fields=50)
        except (UnicodeDecodeError, ValueError):
            form = {}
        if any(value.rstrip("/") != self.resource for value in form.get("resource", [])):
            refused = b'{"error":"invalid_target","error_description":"tokens are for this /mcp only"}'
            await _json(send, http_status("invalid_target"), refused)
            return
        await self.app(scope, replaying(body, receive), send)


async def _json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def scope_choices(consent: Consent, known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every scope the person may grant: those asked for (with a suggested tier) and the others known."""
    choices = []
    for name in consent.scopes:
        info = known.get(name, {})
        choices.append(
            {
                "scope": name,
                "requested": True,
                "known": name in known,
                "suggested_tier": str(info.get("suggested_tier", "prompt")),
                "tools": list(info.get("tools", [])),
            }
        )
    for name, info in sorted(known.items()):
        if name not in consent.scopes and not info.get("system"):
            choices.append(
                {
                    "scope": name,
                    "requested": False,
                    "known": True,
                    "suggested_tier": "deny",
                    "tools": list(info.get("tools", [])),
                }
            )
    return choices


def default_tiers(consent: Consent, known: dict[str, dict[str, Any]]) -> dict[str, Tier]:
    """Reads ``allow``, writes and signing ``prompt``; only what the client asked for and the daemon knows."""
    return {
        c["scope"]: Tier(c["suggested_tier"]) for c in scope_choices(consent, known) if c["requested"] and c["known"]
    }


class ConsentAdmin:
    """``consent.list`` and ``consent.decide`` on the admin socket."""

    def __init__(
        self, store: OAuthStore, waiters: ConsentWaiters, known: Callable[[], dict[str, dict[str, Any]]]
    ) -> None:
        self.store = store
        self.waiters = waiters
        self.known = known

    def _json(self, consent: Consent) -> dict[str, Any]:
        data = consent.to_json(time.time())
        data["scope_choices"] = scope_choices(consent, self.known())
        return data

    async def list(self, params: dict[str, Any]) -> Any:
        pending = await anyio.to_thread.run_sync(self.store.pending_consents)
        return {"pending": [self._json(c) for c in pending]}

    async def decide(self, params: dict[str, Any]) -> Any:
        consent_id = str(params["consent_id"])
        decision = params.get("decision")
        if decision not in ("approve", "deny"):
            raise ValueError("decision must be 'approve' or 'deny'")
        known = {k: v for k, v in self.known().items() if not v.get("system")}
        tiers: dict[str, Tier] | None = None
        raw = params.get("scopes")
        if raw is not None:
            if not isinstance(raw, dict):
                raise ValueError("scopes must be an object of scope -> tier")
            tiers = {}
            for name, tier in raw.items():
                scope = validate_scope(name)
                if scope not in known:
                    raise ValueError(f"unknown scope {scope!r}; 'agent-auth consent list' shows the choices")
                tiers[scope] = parse_tier(tier)
        label = params.get("label")
        if label is not None and not isinstance(label, str):
            raise ValueError("label must be a string")
        # Who decided is the admin connection's peer (as for approvals), never what the request claims.
        decided_by = current_channel.get()
        claim = params.get("decided_by")
        decided_by_claim = neutralise(str(claim))[:64] if claim else None
        matching_code = params.get("matching_code")

        def run() -> Consent:
            current = self.store.get_consent(consent_id)
            chosen = tiers
            if chosen is None and current is not None:
                chosen = default_tiers(current, known)
            chosen_label = label if label is not None else (current.client_name if current else None)
            return self.store.decide(
                consent_id,
                approved=decision == "approve",
                matching_code=str(matching_code) if matching_code is not None else None,
                scopes=chosen if decision == "approve" else None,
                label=chosen_label[:100] if chosen_label else None,
                decided_by=decided_by,
                decided_by_claim=decided_by_claim,
            )

        consent = await anyio.to_thread.run_sync(run)
        self.waiters.wake(consent.id)
        return self._json(consent)


@dataclass(frozen=True)
class OAuthServer:
    """The mounted authorization server's state: its store and the consent pages waiting for a person."""

    store: OAuthStore
    waiters: ConsentWaiters


async def _prune_loop(store: OAuthStore) -> None:
    while True:
        await anyio.sleep(PRUNE_INTERVAL_SECONDS)
        try:
            await anyio.to_thread.run_sync(store.prune)
        except Exception:  # maintenance must keep running; failures are logged
            log.exception("pruning OAuth records failed")


def authorization_server(ctx: DaemonContext, resource_url: str) -> dict[str, Any]:
    """Routes and lifespan hooks of the authorization server; registers the consent admin methods."""
    assert ctx.url is not None
    issuer = ctx.url
    try:
        validate_issuer_url(AuthSettings(issuer_url=issuer, resource_server_url=None).issuer_url)  # type: ignore[arg-type]
    except ValueError:
        # RFC 8414 wants https; plain http is only acceptable on loopback. Serving /mcp on another address
        # without TLS keeps working with bearer tokens (headersHelper), without the authorization server.
        log.warning("OAuth sign-in is off: %s is neither https nor loopback (set tls_cert/tls_key)", issuer)
        return {"routes": [], "lifespan_hooks": []}
    store = OAuthStore(ctx.authority)
    waiters = ConsentWaiters()

    def known() -> dict[str, dict[str, Any]]:
        return ctx.known_scopes

    provider = AgentAuthProvider(
        store,
        issuer=issuer,
        resource=resource_url,
        consent_url=issuer + CONSENT_PATH,
        on_revoke=ctx.broker.revoke_grants,
    )
    tool_scopes = sorted(name for name, info in ctx.known_scopes.items() if not info.get("system"))
    routes: list[BaseRoute] = list(
        create_auth_routes(
            provider,
            issuer_url=AuthSettings(issuer_url=issuer, resource_server_url=None).issuer_url,  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=tool_scopes, default_scopes=tool_scopes
            ),
            revocation_options=RevocationOptions(enabled=True),
        )
    )
    for i, route in enumerate(routes):
        if isinstance(route, Route) and route.path == "/token":
            routes[i] = Route("/token", ResourceCheck(route.app, resource_url), methods=["POST", "OPTIONS"])
    routes += consent_routes(store, waiters, known)
    admin = ConsentAdmin(store, waiters, known)
    ctx.admin_methods.update({"consent.list": admin.list, "consent.decide": admin.decide})
    ctx.oauth = OAuthServer(store, waiters)
    ctx.shutdown_hooks.append(waiters.close)
    return {"routes": routes, "lifespan_hooks": [lambda tg: tg.start_soon(_prune_loop, store)]}
