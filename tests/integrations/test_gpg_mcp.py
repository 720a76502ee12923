"""The GPG MCP tools through the SDK's in-memory client, behind the daemon's gate, approvals and audit log.

Real gpg with throwaway ed25519 keys; the enforcement layer and the broker are the daemon's own.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from mcp_server.daemon.context import DaemonContext
from mcp_server.integrations.gpg.mcp_tools import sign_summary
from mcp_server.integrations.gpg.wiring import Gpg, announce_lines
from mcp_server.mcp.server import build_mcp_server
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys, daemon_context, gpg_keys, gpg_settings, token
from tests.support.daemon import isolated_env

pytestmark = pytest.mark.anyio

WAIT_SECONDS = 10.0
SUBJECT = "Teach the widget to fly"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@pytest.fixture
def ctx(tmp_path: Path, keys: GpgKeys) -> Iterator[DaemonContext]:
    with isolated_env(tmp_path / "home") as env, daemon_context(gpg_settings(env, keys)) as context:
        yield context


@pytest.fixture
def connect(ctx: DaemonContext) -> Callable[..., Any]:
    """``connect(gpg_sign="prompt", ...)``: an in-memory MCP client whose calls carry a new family's token."""
    registry = ctx.tool_registry
    assert registry is not None

    @asynccontextmanager
    async def _connect(**scopes: str) -> AsyncIterator[Client]:
        access = token(ctx, **scopes)
        server, _ = build_mcp_server(ctx.gate, registry, token_source=lambda _ctx: access)
        async with Client(server) as client:
            yield client

    return _connect


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(part, "text", "") for part in result.content)


def audit(ctx: DaemonContext, event: str) -> list[dict[str, Any]]:
    lines = ctx.authority.audit.path.read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["event"] == event]


def sign_args(key: str, payload: bytes | None = None) -> dict[str, Any]:
    return {"payload": (payload or commit_payload(SUBJECT)).decode(), "key": key}


@asynccontextmanager
async def deciding(ctx: DaemonContext, *, approve: bool) -> AsyncIterator[list[dict[str, Any]]]:
    """Decide the next approval the broker announces, from a concurrent task; yields what was shown."""
    shown: list[dict[str, Any]] = []
    created = anyio.Event()

    def listen(kind: str, data: dict[str, Any]) -> None:
        if kind == "approval.created":
            shown.append(data)
            created.set()

    async def decide() -> None:
        with anyio.fail_after(WAIT_SECONDS):
            await created.wait()
        assert [p.id for p in ctx.broker.pending()] == [shown[0]["id"]]
        ctx.broker.decide(shown[0]["id"], approved=approve, decided_by="test")

    unsubscribe = ctx.broker.subscribe(listen)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(decide)
            yield shown
    finally:
        unsubscribe()


async def test_an_allow_token_signs_a_commit_and_the_signature_verifies(
    connect: Callable[..., Any], keys: GpgKeys
) -> None:
    async with connect(gpg_sign="allow", gpg_verify="allow") as client:
        signed = structured(await client.call_tool("gpg_sign", sign_args(keys.alice)))
        good = structured(
            await client.call_tool(
                "gpg_verify", {"signature": signed["signature"], "payload": commit_payload(SUBJECT).decode()}
            )
        )
        bad = structured(
            await client.call_tool(
                "gpg_verify", {"signature": signed["signature"], "payload": commit_payload("tampered").decode()}
            )
        )
    assert signed["signature"].startswith("-----BEGIN PGP SIGNATURE-----")
    assert signed["fingerprint"] == keys.alice
    assert good["valid"] is True and good["verdict"] == "GOODSIG" and good["fingerprint"] == keys.alice
    assert bad["valid"] is False and bad["verdict"] == "BADSIG"


async def test_every_signature_is_audited_with_digest_summary_key_and_result(
    connect: Callable[..., Any], ctx: DaemonContext, keys: GpgKeys
) -> None:
    async with connect(gpg_sign="allow") as client:
        signed = structured(await client.call_tool("gpg_sign", sign_args(keys.alice)))
    [entry] = audit(ctx, "call.result")
    assert entry["result"] == "ok"
    assert entry["payload_sha256"] == signed["payload_sha256"]
    assert entry["fingerprint"] == keys.alice
    assert SUBJECT in entry["summary"]
    [call] = audit(ctx, "decision")
    assert (call["target"], call["surface"], call["call_id"]) == ("gpg_sign", "mcp", entry["call_id"])
    assert len(call["digest"]) == 64


async def test_a_base64_payload_signs_the_same_bytes_as_text(connect: Callable[..., Any], keys: GpgKeys) -> None:
    payload = commit_payload(SUBJECT)
    async with connect(gpg_sign="allow", gpg_verify="allow") as client:
        signed = structured(
            await client.call_tool(
                "gpg_sign",
                {"payload": base64.b64encode(payload).decode(), "key": keys.alice, "payload_encoding": "base64"},
            )
        )
        verified = structured(
            await client.call_tool("gpg_verify", {"signature": signed["signature"], "payload": payload.decode()})
        )
    assert verified["valid"] is True


async def test_a_passphrase_protected_key_signs_with_the_stored_passphrase(
    connect: Callable[..., Any], keys: GpgKeys
) -> None:
    async with connect(gpg_sign="allow") as client:
        signed = structured(await client.call_tool("gpg_sign", sign_args(keys.bob)))
    assert signed["fingerprint"] == keys.bob


async def test_a_prompt_token_waits_for_an_approval_that_shows_subject_author_and_key(
    connect: Callable[..., Any], ctx: DaemonContext, keys: GpgKeys
) -> None:
    async with connect(gpg_sign="prompt") as client, deciding(ctx, approve=True) as shown:
        result = await client.call_tool("gpg_sign", sign_args(keys.alice))
    signed = structured(result)
    [approval] = shown
    assert approval["scope"] == "gpg:sign"
    # The headline is the server's (no caller text); every field is a labelled row of the details view.
    assert approval["summary"] == f"Sign a git commit with key {keys.alice}"
    rows = {row["label"]: row["value"] for row in approval["details"]}
    assert rows["Subject"] == SUBJECT and rows["Signing key"] == keys.alice
    assert rows["Author"].startswith("Alice Example <alice@example.org>, ") and rows["Parents"] == "1"
    assert rows["Key user id"] == "Alice Example <alice@example.org>"
    assert f"\n\n{SUBJECT}" in rows["Whole object as signed (every header and the full message)"]
    assert approval["digest"] and signed["fingerprint"] == keys.alice
    assert [e["result"] for e in audit(ctx, "call.result")] == ["ok"]


async def test_a_declined_approval_signs_nothing(
    connect: Callable[..., Any], ctx: DaemonContext, keys: GpgKeys
) -> None:
    async with connect(gpg_sign="prompt") as client, deciding(ctx, approve=False) as shown:
        result = await client.call_tool("gpg_sign", sign_args(keys.alice))
    assert "declined" in error_text(result)
    assert len(shown) == 1
    assert audit(ctx, "call.result") == []
    [call] = audit(ctx, "decision")
    assert call["outcome"] == "deny" and call["reason"] == "denied"


async def test_a_key_that_is_not_allowlisted_fails_clearly_and_nothing_is_signed(
    connect: Callable[..., Any], ctx: DaemonContext, keys: GpgKeys
) -> None:
    async with connect(gpg_sign="allow") as client:
        result = await client.call_tool("gpg_sign", sign_args(keys.mallory))
    message = error_text(result)
    assert "[key_not_allowed]" in message and keys.mallory in message
    assert "BEGIN PGP SIGNATURE" not in message
    # Refused before any decision or prompt: one decision record names why; nothing ran.
    assert audit(ctx, "call.result") == []
    [call] = audit(ctx, "decision")
    assert (call["outcome"], call["code"]) == ("deny", "key_not_allowed")


async def test_a_payload_that_is_not_a_git_object_is_refused(connect: Callable[..., Any], keys: GpgKeys) -> None:
    async with connect(gpg_sign="allow") as client:
        result = await client.call_tool("gpg_sign", {"payload": "please sign this\n", "key": keys.alice})
    assert "[payload_not_git_object]" in error_text(result)


async def test_list_keys_shows_only_allowlisted_keys(connect: Callable[..., Any], keys: GpgKeys) -> None:
    async with connect(gpg_verify="allow") as client:
        listed = structured(await client.call_tool("gpg_list_keys", {}))
    assert sorted(k["fingerprint"] for k in listed["keys"]) == sorted(keys.allowed)
    alice = next(k for k in listed["keys"] if k["fingerprint"] == keys.alice)
    assert alice["user_ids"] == ["Alice Example <alice@example.org>"]
    assert alice["signing_fingerprints"] == [keys.alice]


async def test_a_token_without_gpg_scopes_sees_no_gpg_tools(connect: Callable[..., Any]) -> None:
    async with connect(gpg_verify="allow") as client:
        verify_only = {tool.name for tool in (await client.list_tools()).tools}
    async with connect(things_read="allow") as client:
        unrelated = {tool.name for tool in (await client.list_tools()).tools}
    assert {"gpg_list_keys", "gpg_verify"} <= verify_only and "gpg_sign" not in verify_only
    assert not {name for name in unrelated if name.startswith("gpg_")}


async def test_a_notation_names_the_audited_request_when_enabled(
    connect: Callable[..., Any], ctx: DaemonContext, keys: GpgKeys
) -> None:
    integration = ctx.integration(Gpg).attached
    integration.notations_enabled = True
    async with connect(gpg_sign="allow") as client:
        signed = structured(await client.call_tool("gpg_sign", sign_args(keys.alice)))
    [entry] = audit(ctx, "call.result")
    packets = subprocess.run(
        ["gpg", "--homedir", str(keys.home), "--batch", "--list-packets"],
        input=signed["signature"].encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert entry["request_id"].startswith("gs_")
    assert f"request-id@agent-auth.local={entry['request_id']}" in packets.replace('"', "").replace(": ", "=")


def test_the_sign_summary_never_raises_and_names_the_refusal(ctx: DaemonContext, keys: GpgKeys) -> None:
    integration = ctx.integration(Gpg).attached
    assert "(payload_not_git_object)" in sign_summary(integration, {"payload": "x", "key": keys.alice})
    assert "(short_key_id)" in sign_summary(integration, {"payload": commit_payload().decode(), "key": "DEADBEEF"})
    assert "invalid_request" in sign_summary(
        integration, {"payload": "%%%", "key": keys.alice, "payload_encoding": "base64"}
    )
    assert sign_summary(integration, {"payload": object(), "key": None}).startswith("gpg_sign")


def test_the_surface_says_so_when_no_keys_are_allowlisted(tmp_path: Path, keys: GpgKeys) -> None:
    with isolated_env(tmp_path / "home") as env:
        settings = gpg_settings(env, keys, gpg_allowed_keys=())
        with daemon_context(settings) as context:
            lines = context.announce_lines
            names = {spec.name for spec in context.tool_registry or ()}
    assert any("no keys allowlisted" in line for line in lines)
    assert {"gpg_sign", "gpg_verify", "gpg_list_keys"} <= names
    assert announce_lines(settings, context.integration(Gpg).attached.service) == lines
