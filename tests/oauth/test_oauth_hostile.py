"""Hostile OAuth clients and scripts: nothing they send yields a token without a person's consent, and a
token is only ever issued to the client, redirect URI, PKCE verifier and resource of that consent."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, OAuthFlowError
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl

from auth.admin_client import AdminError
from mcp_server.oauth.surface import OAuthServer
from tests.mcp.mcp_test_support import READ_SCOPE
from tests.oauth.oauth_support import (
    REDIRECT_URI,
    Browser,
    MemoryStorage,
    RawClient,
    admin,
    approve,
    consent_for,
    query,
)
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio


def oauth_of(daemon: RunningDaemon) -> OAuthServer:
    assert daemon.ctx.oauth is not None, "the daemon serves no authorization server"
    return daemon.ctx.oauth


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient() as client:
        yield client


@pytest.fixture
async def client(daemon: RunningDaemon, http: httpx2.AsyncClient) -> RawClient:
    raw = RawClient(daemon, http)
    assert (await raw.register()).status_code == 201
    return raw


async def family_count(daemon: RunningDaemon) -> int:
    return len(await admin(daemon, "families.list"))


async def mcp_status(daemon: RunningDaemon, http: httpx2.AsyncClient, access_token: str) -> int:
    response = await http.post(
        f"{daemon.url}/mcp",
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    return response.status_code


# --- PKCE ------------------------------------------------------------------------------------------


async def test_a_missing_or_wrong_pkce_verifier_gets_no_token(daemon: RunningDaemon, client: RawClient) -> None:
    code = await client.authorized_code()
    missing = await client.token(code, code_verifier="")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = await client.token(code, code_verifier="x" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert await family_count(daemon) == 0
    assert (await client.token(code)).status_code == 200  # the right verifier still works, once


async def test_plain_pkce_is_refused(daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient) -> None:
    response = await http.get(client.authorize_url(code_challenge_method="plain"))
    assert response.status_code == 302
    assert query(response.headers["location"])["error"] == "invalid_request"
    assert (await admin(daemon, "consent.list"))["pending"] == []


# --- redirect URIs ---------------------------------------------------------------------------------


async def test_a_redirect_uri_that_was_not_registered_is_never_redirected_to(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    for uri in ("https://evil.example/callback", REDIRECT_URI + "/extra", REDIRECT_URI.replace("53682", "53683")):
        response = await http.get(client.authorize_url(redirect_uri=uri))
        assert response.status_code == 400 and "location" not in response.headers, uri
    unknown = RawClient(daemon, http, client_id="no-such-client")
    response = await http.get(unknown.authorize_url(redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "location" not in response.headers
    assert (await admin(daemon, "consent.list"))["pending"] == []


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/callback",
        "javascript:alert(1)",
        "http://127.0.0.1:53682/callback#frag",
        "https://user:pw@evil.example/cb",
        "file:///etc/passwd",
    ],
)
async def test_registration_accepts_only_loopback_http_or_https_redirects(
    daemon: RunningDaemon, http: httpx2.AsyncClient, uri: str
) -> None:
    response = await RawClient(daemon, http).register(redirect_uris=[uri])
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


async def test_the_token_request_must_repeat_the_redirect_uri(daemon: RunningDaemon, client: RawClient) -> None:
    code = await client.authorized_code()
    response = await client.token(code, redirect_uri="http://127.0.0.1:53682/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert await family_count(daemon) == 0


# --- codes -----------------------------------------------------------------------------------------


async def test_a_reused_code_is_refused_and_revokes_the_tokens_it_produced(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    code = await client.authorized_code()
    first = await client.token(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert await mcp_status(daemon, http, access) != 401
    second = await client.token(code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert await mcp_status(daemon, http, access) == 401
    families = await admin(daemon, "families.list")
    assert [f["revoke_reason"] for f in families] == ["authorization_code_reuse"]


async def test_a_code_is_useless_to_another_client(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    other = RawClient(daemon, http)
    assert (await other.register(name="Other")).status_code == 201
    code = await client.authorized_code()
    stolen = await client.token(code, client_id=other.client_id)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert await family_count(daemon) == 0
    assert (await client.token(code)).status_code == 200


async def test_codes_expire(daemon: RunningDaemon, client: RawClient) -> None:
    code = await client.authorized_code()
    store = oauth_of(daemon).store
    store.clock = lambda: time.time() + 3600
    response = await client.token(code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --- resource (RFC 8707) ---------------------------------------------------------------------------


async def test_tokens_for_another_resource_are_refused(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    response = await http.get(client.authorize_url(resource="https://evil.example/mcp"))
    assert response.status_code == 302
    assert query(response.headers["location"])["error"] == "invalid_target"
    assert (await admin(daemon, "consent.list"))["pending"] == []
    code = await client.authorized_code()
    refused = await client.token(code, resource="https://evil.example/mcp")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
    assert await family_count(daemon) == 0


async def test_an_oversized_token_request_is_refused_whole_not_cut_short(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    """A form past 64 KiB is refused; it is never truncated and handed on (the resource check reads it whole)."""
    code = await client.authorized_code()
    form = {"grant_type": "authorization_code", "code": code, "padding": "x" * (64 * 1024)}
    response = await http.post(f"{daemon.url}/token", data=form)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "token requests are limited to 64 KiB",
    }
    assert await family_count(daemon) == 0


# --- the consent page ------------------------------------------------------------------------------


async def test_a_script_fetching_posting_or_replaying_the_page_never_approves(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for data in ({"decision": "approve"}, {"approve": "1", "matching_code": page.matching_code}):
            response = await http.request(method, page.url, data=data)
            assert response.status_code == 405, method
            assert (await http.request(method, page.url + "/wait", data=data)).status_code == 405
    again = await http.get(page.url)
    assert again.status_code == 200 and "location" not in again.headers
    waited = await http.get(page.url + "/wait", timeout=30)
    assert waited.json() == {"status": "pending"}
    assert "code=" not in again.text
    consent = await consent_for(daemon, page.matching_code)
    assert consent["status"] == "pending"
    # After the person approved, the code is handed out once; a replay of the URL shows "finished".
    await approve(daemon, page)
    assert (await http.get(page.url)).status_code == 302
    replay = await http.get(page.url)
    assert replay.status_code == 200 and "code=" not in replay.text and "finished" in replay.text


async def test_the_page_shows_client_name_redirect_host_scopes_and_code_escaped(
    daemon: RunningDaemon, http: httpx2.AsyncClient
) -> None:
    hostile = RawClient(daemon, http)
    assert (await hostile.register(name="<script>alert(1)</script>\x1b[2J Evil")).status_code == 201
    page = await Browser(http).open(hostile.authorize_url(scope=READ_SCOPE))
    assert "<script>alert" not in page.html and "&lt;script&gt;" in page.html
    assert "\x1b" not in page.html
    assert "127.0.0.1:53682" in page.html and READ_SCOPE in page.html
    consent = await consent_for(daemon, page.matching_code)
    assert "\x1b" not in consent["client_name"] and consent["scopes"] == [READ_SCOPE]


async def test_approval_needs_the_matching_code_from_the_page(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    consent = await consent_for(daemon, page.matching_code)
    with pytest.raises(AdminError) as refused:
        await admin(daemon, "consent.decide", consent_id=consent["consent_id"], decision="approve")
    assert refused.value.code == "matching_code_mismatch"
    with pytest.raises(AdminError):
        await admin(
            daemon, "consent.decide", consent_id=consent["consent_id"], decision="approve", matching_code="AAA-AAA"
        )
    assert (await consent_for(daemon, page.matching_code))["status"] == "pending"


async def test_a_denial_returns_access_denied(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    consent = await consent_for(daemon, page.matching_code)
    await admin(daemon, "consent.decide", consent_id=consent["consent_id"], decision="deny")
    back = await http.get(page.url)
    assert back.status_code == 302
    params = query(back.headers["location"])
    assert back.headers["location"].startswith(REDIRECT_URI)
    assert params["error"] == "access_denied" and params["state"] == client.state and "code" not in params


async def test_an_unanswered_consent_expires_into_access_denied(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    consent = await consent_for(daemon, page.matching_code)
    oauth_of(daemon).store.clock = lambda: time.time() + 3600
    assert (await admin(daemon, "consent.list"))["pending"] == []
    with pytest.raises(AdminError) as late:
        await admin(
            daemon,
            "consent.decide",
            consent_id=consent["consent_id"],
            decision="approve",
            matching_code=page.matching_code,
        )
    assert late.value.code == "consent_not_pending"
    back = await http.get(page.url)
    assert back.status_code == 302 and query(back.headers["location"])["error"] == "access_denied"


async def test_the_person_cannot_grant_a_scope_the_daemon_does_not_know(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    with pytest.raises(AdminError) as refused:
        await approve(daemon, page, {"agent-auth:manage": "allow"})
    assert refused.value.code in ("invalid_params", "reserved_scope")
    with pytest.raises(AdminError):
        await approve(daemon, page, {"other:thing": "allow"})


# --- state ---------------------------------------------------------------------------------------


async def test_the_state_is_echoed_exactly_and_a_mismatch_stops_the_sdk_client(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    client.state = "s t&a=te/é"
    code_page = await Browser(http).open(client.authorize_url())
    await approve(daemon, code_page)
    back = await http.get(code_page.url)
    assert query(back.headers["location"])["state"] == "s t&a=te/é"

    pending: list[str] = []

    async def redirect_handler(url: str) -> None:
        pending.append(url)

    async def callback_handler() -> AuthorizationCodeResult:
        browser = Browser(http)
        page = await browser.open(pending.pop())
        await approve(daemon, page)
        location = (await browser.come_back(page)).headers["location"]
        return AuthorizationCodeResult(code=query(location)["code"], state="forged-state")

    before = await family_count(daemon)
    metadata = OAuthClientMetadata(redirect_uris=[AnyUrl(REDIRECT_URI)], client_name="State Client")
    provider = OAuthClientProvider(f"{daemon.url}/mcp", metadata, MemoryStorage(), redirect_handler, callback_handler)
    async with httpx2.AsyncClient(auth=provider) as authed:
        with pytest.raises(OAuthFlowError, match=r"(?i)state"):
            await authed.post(
                f"{daemon.url}/mcp",
                headers={"Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            )
    assert await family_count(daemon) == before


async def test_a_page_waiting_for_a_decision_does_not_hold_up_shutdown(
    daemon: RunningDaemon, client: RawClient, http: httpx2.AsyncClient
) -> None:
    page = await Browser(http).open(client.authorize_url())
    waiters = oauth_of(daemon).waiters
    answers: list[httpx2.Response] = []

    async def wait() -> None:
        answers.append(await http.get(page.url + "/wait", timeout=60))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        with anyio.fail_after(10):
            while not waiters._events:
                await anyio.sleep(0.02)
        await anyio.to_thread.run_sync(daemon.stop)
    assert answers[0].status_code == 200 and answers[0].json() == {"status": "pending"}


async def test_codes_tokens_and_verifiers_never_reach_the_log_or_the_audit(
    daemon: RunningDaemon, client: RawClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await client.authorized_code()
    issued = (await client.token(code)).json()
    await client.token(code)  # a replay: refused and logged as such
    refreshed = await client.http.post(
        f"{daemon.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], "client_id": client.client_id},
    )
    assert refreshed.status_code == 400  # the family was revoked by the replay
    secrets_seen = [code, client.verifier, issued["access_token"], issued["refresh_token"], client.state]
    audit_text = daemon.ctx.authority.audit.path.read_text(encoding="utf-8")
    # The daemon's log (the test's own HTTP client logs its requests at debug level; that is not the daemon).
    daemon_log = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "hpack"))
    )
    assert "refused" in daemon_log  # the replay was logged, without the code
    for secret in secrets_seen:
        assert secret not in daemon_log and secret not in audit_text
    assert "oauth.token_issued" in audit_text and "authorization_code_reuse" in audit_text
