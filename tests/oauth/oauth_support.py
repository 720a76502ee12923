"""Pieces the OAuth tests share: a person's browser, the admin socket, an in-memory client token store."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from auth.admin_client import call_once
from tests.support.daemon import RunningDaemon

REDIRECT_URI = "http://127.0.0.1:53682/callback"
_CODE_RE = re.compile(r'id="code">([A-Z0-9]{3}-[A-Z0-9]{3})<')


@dataclass
class MemoryStorage:
    tokens: OAuthToken | None = None
    client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class ConsentPage:
    url: str
    html: str
    matching_code: str


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Browser:
    """The person's browser: opens the authorization URL, shows the consent page, follows it back."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http

    async def open(self, authorize_url: str) -> ConsentPage:
        response = await self.http.get(authorize_url)
        assert response.status_code == 302, response.text
        page_url = response.headers["location"]
        page = await self.http.get(page_url)
        assert page.status_code == 200, page.text
        match = _CODE_RE.search(page.text)
        assert match is not None, "the consent page shows a matching code"
        return ConsentPage(page_url, page.text, match.group(1))

    async def come_back(self, page: ConsentPage) -> httpx2.Response:
        """The page's script saw the decision and reloads: the daemon redirects to the client."""
        return await self.http.get(page.url)


async def admin(daemon: RunningDaemon, method: str, **params: Any) -> Any:
    return await call_once(daemon.admin_socket, method, **params)


async def consent_for(daemon: RunningDaemon, matching_code: str) -> dict[str, Any]:
    listing = await admin(daemon, "consent.list")
    found = [c for c in listing["pending"] if c["matching_code"] == matching_code]
    assert len(found) == 1, listing
    return dict(found[0])


async def approve(
    daemon: RunningDaemon, page: ConsentPage, scopes: dict[str, str] | None = None, label: str | None = None
) -> dict[str, Any]:
    consent = await consent_for(daemon, page.matching_code)
    params: dict[str, Any] = {"consent_id": consent["consent_id"], "decision": "approve"}
    params["matching_code"] = page.matching_code
    if scopes is not None:
        params["scopes"] = scopes
    if label is not None:
        params["label"] = label
    return dict(await admin(daemon, "consent.decide", **params))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


@dataclass
class RawClient:
    """A hand-driven OAuth client (for hostile cases the SDK's client would never send)."""

    daemon: RunningDaemon
    http: httpx2.AsyncClient
    client_id: str = ""
    redirect_uri: str = REDIRECT_URI
    verifier: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(8))

    @property
    def resource(self) -> str:
        return f"{self.daemon.url}/mcp"

    async def register(self, name: str = "Raw Client", redirect_uris: list[str] | None = None) -> httpx2.Response:
        response = await self.http.post(
            f"{self.daemon.url}/register",
            json={
                "client_name": name,
                "redirect_uris": redirect_uris or [self.redirect_uri],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
            },
        )
        if response.status_code == 201:
            self.client_id = response.json()["client_id"]
        return response

    def authorize_url(self, **overrides: str) -> str:
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": self.state,
            "resource": self.resource,
        }
        params.update(overrides)
        return f"{self.daemon.url}/authorize?{urlencode(params)}"

    async def authorized_code(self, scopes: dict[str, str] | None = None) -> str:
        """Run authorize → consent page → approval on the admin socket → redirect; return the code."""
        browser = Browser(self.http)
        page = await browser.open(self.authorize_url())
        await approve(self.daemon, page, scopes)
        back = await browser.come_back(page)
        assert back.status_code == 302, back.text
        params = query(back.headers["location"])
        assert params["state"] == self.state
        return params["code"]

    async def token(self, code: str, **overrides: str) -> httpx2.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
            "resource": self.resource,
        }
        data.update(overrides)
        return await self.http.post(f"{self.daemon.url}/token", data={k: v for k, v in data.items() if v != ""})


def sdk_client(
    daemon: RunningDaemon, browser: Browser, decide: Any, storage: MemoryStorage, name: str = "Notes Client"
) -> OAuthClientProvider:
    """The SDK's OAuth client; ``decide(page)`` plays the person at the admin socket."""
    pending: list[str] = []

    async def redirect_handler(url: str) -> None:
        pending.append(url)

    async def callback_handler() -> AuthorizationCodeResult:
        page = await browser.open(pending.pop())
        await decide(page)
        back = await browser.come_back(page)
        assert back.status_code == 302, back.text
        params = query(back.headers["location"])
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"))

    metadata = OAuthClientMetadata(
        redirect_uris=[AnyUrl(REDIRECT_URI)], client_name=name, token_endpoint_auth_method="none"
    )
    return OAuthClientProvider(f"{daemon.url}/mcp", metadata, storage, redirect_handler, callback_handler)
