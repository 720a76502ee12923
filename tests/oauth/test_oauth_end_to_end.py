"""An MCP client connects with OAuth: discovery, registration, consent on the admin socket, tokens, refresh,
revocation and re-authorization — the SDK's own OAuth client against a real daemon over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_server.mcp.registry import PROMPT_NOTE
from tests.mcp.mcp_test_support import ABSENT_SCOPE, ADMIN_SCOPE, READ_SCOPE, WRITE_SCOPE, ToolRuns, audit_entries
from tests.oauth.oauth_support import Browser, ConsentPage, MemoryStorage, admin, approve, sdk_client
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.anyio

CHOSEN = {READ_SCOPE: "allow", WRITE_SCOPE: "prompt", ADMIN_SCOPE: "deny"}


async def test_metadata_documents_agree_and_every_endpoint_they_name_answers(daemon: RunningDaemon) -> None:
    async with httpx2.AsyncClient() as http:
        prm = (await http.get(f"{daemon.url}/.well-known/oauth-protected-resource/mcp")).json()
        assert prm["resource"] == f"{daemon.url}/mcp"
        assert prm["authorization_servers"] == [daemon.url]
        asm_response = await http.get(f"{daemon.url}/.well-known/oauth-authorization-server")
        assert asm_response.status_code == 200
        asm = asm_response.json()
        assert asm["issuer"] == prm["authorization_servers"][0]
        assert asm["code_challenge_methods_supported"] == ["S256"]
        assert set(asm["scopes_supported"]) == {READ_SCOPE, WRITE_SCOPE, ADMIN_SCOPE, ABSENT_SCOPE}
        for key in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint"):
            assert asm[key].startswith(daemon.url + "/")
            answer = await http.request("GET" if key == "authorization_endpoint" else "POST", asm[key])
            assert answer.status_code not in (404, 405), (key, answer.status_code)


async def test_an_mcp_client_lists_and_calls_exactly_the_consented_tools_then_refreshes_and_reauthorizes(
    daemon: RunningDaemon, runs: ToolRuns
) -> None:
    pages: list[ConsentPage] = []
    consents: list[dict[str, Any]] = []

    async def person(page: ConsentPage) -> None:
        pages.append(page)
        consents.append(await approve(daemon, page, CHOSEN, label="notes over oauth"))

    storage = MemoryStorage()
    async with httpx2.AsyncClient() as browser_http:
        provider = sdk_client(daemon, Browser(browser_http), person, storage)
        async with (
            httpx2.AsyncClient(auth=provider) as http,
            Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
        ):
            listed = await client.list_tools()
            names = sorted(tool.name for tool in listed.tools)
            assert names == ["read_note", "whoami", "write_note"]  # admin at deny, export never granted
            described = {tool.name: tool.description or "" for tool in listed.tools}
            assert PROMPT_NOTE in described["write_note"] and PROMPT_NOTE not in described["read_note"]
            assert len(pages) == 1
            assert "Notes Client" in pages[0].html and "127.0.0.1:53682" in pages[0].html
            assert consents[0]["decision"]["scopes"] == CHOSEN
            assert consents[0]["decided_by"].startswith("admin-socket uid=")  # the channel, not a claim
            result = await client.call_tool("read_note", {"title": "a"})
            assert not result.is_error and runs.names == ["read_note"]

            families = [f for f in await admin(daemon, "families.list") if f["label"] == "notes over oauth"]
            assert len(families) == 1 and families[0]["scopes"] == CHOSEN
            first_family = families[0]["family_id"]

            # Refresh: the client trades its refresh token when the access token is due.
            assert storage.tokens is not None
            old_access = storage.tokens.access_token
            provider.context.token_expiry_time = time.time() - 1
            assert not (await client.call_tool("read_note", {"title": "b"})).is_error
            assert storage.tokens.access_token != old_access
            assert any(
                e["family_id"] == first_family for e in audit_entries(daemon.ctx.authority.audit, "token.refresh")
            )

            # Revocation on the trusted channel: the next call is a 401 and the client authorizes again.
            await admin(daemon, "families.revoke", family_id=first_family)
            assert not (await client.call_tool("read_note", {"title": "c"})).is_error
            assert len(pages) == 2 and pages[1].matching_code != "" and runs.names.count("read_note") == 3
            live = [f for f in await admin(daemon, "families.list") if not f["revoked"]]
            assert [f["label"] for f in live] == ["notes over oauth"]
            assert live[0]["family_id"] != first_family


async def test_the_revocation_endpoint_revokes_the_whole_family(daemon: RunningDaemon) -> None:
    async def person(page: ConsentPage) -> None:
        await approve(daemon, page)

    storage = MemoryStorage()
    async with httpx2.AsyncClient() as browser_http:
        provider = sdk_client(daemon, Browser(browser_http), person, storage)
        async with (
            httpx2.AsyncClient(auth=provider) as http,
            Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
        ):
            await client.list_tools()
    assert storage.tokens is not None and storage.client_info is not None
    async with httpx2.AsyncClient() as http:
        revoked = await http.post(
            f"{daemon.url}/revoke",
            data={
                "token": storage.tokens.refresh_token or "",
                "client_id": storage.client_info.client_id,
                "client_secret": "",  # the SDK handler wants the field even for a public client
            },
        )
        assert revoked.status_code == 200
        probe = await http.post(
            f"{daemon.url}/mcp",
            headers={"Authorization": f"Bearer {storage.tokens.access_token}", "Accept": "application/json"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert probe.status_code == 401
    families = await admin(daemon, "families.list")
    assert [f["revoke_reason"] for f in families] == ["oauth_revoked"]
