"""The integration seam: a host integration is one class and one line at the composition root.

A third integration ("weather", defined here the way a new package would define it) is attached next to the
real ones on a real daemon: its MCP tool is listed and gated by its scope, its REST route decides through the
same gate and leaves the same decision record, its scope is known to the admin socket, and its line is
announced. Conflicts refuse to start; the order of the list changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.admin_client import AdminConnection
from mcp_server import composition
from mcp_server.daemon.app import build_app
from mcp_server.daemon.bridge_http import refusal
from mcp_server.daemon.compose import compose
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.edge import identity_of
from mcp_server.daemon.serve import open_context
from mcp_server.integration import CompositionError, Contribution, ToolsOnly
from mcp_server.integrations.gpg import Gpg
from mcp_server.integrations.things import Things
from mcp_server.mcp.registry import ToolSpec
from mcp_server.settings import load_settings
from tests.mcp.mcp_test_support import audit_entries
from tests.support.daemon import RunningDaemon, isolated_env, start_daemon

pytestmark = pytest.mark.anyio

WEATHER_SCOPE = "weather:read"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Weather:
    """What a new integration package would hold: a tool, a REST route through the gate, a scope, a line."""

    name: str = "weather"
    reads: int = 0

    def now(self) -> dict[str, Any]:
        self.reads += 1
        return {"sky": "clear", "celsius": 21}

    def attach(self, ctx: DaemonContext) -> Contribution:
        def weather_now() -> dict[str, Any]:
            return self.now()

        async def rest_now(request: Request) -> Response:
            decision = await ctx.gate.admit(
                identity_of(request.scope, ctx.gate), WEATHER_SCOPE, surface="rest", target="GET /weather/v1/now"
            )
            if not decision.allowed:
                return refusal(decision)
            body = self.now()
            ctx.gate.record_result(decision, "ok")
            return JSONResponse(body)

        return Contribution(
            tools=[ToolSpec("weather_now", weather_now, WEATHER_SCOPE, "The weather now.", read_only=True)],
            routes=[Route("/weather/v1/now", rest_now, methods=["GET"])],
            scopes={WEATHER_SCOPE: "read the weather"},
            announce=["weather      clear skies"],
        )


@asynccontextmanager
async def mcp_client(daemon: RunningDaemon, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"{daemon.url}/mcp", http_client=http)) as client,
    ):
        yield client


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with isolated_env(tmp_path / "home") as environment:
        yield environment


@pytest.fixture
def ctx(env: dict[str, str]) -> Iterator[DaemonContext]:
    context = open_context(load_settings(env=env))
    yield context
    context.gate.close()
    context.authority.audit.close()
    context.authority.db.dispose()


def test_serve_attaches_the_integrations_listed_at_the_root() -> None:
    assert [integration.name for integration in composition.integrations()] == ["things", "gpg"]


async def test_a_third_integration_plugs_in_with_one_class(env: dict[str, str]) -> None:
    weather = Weather()
    daemon = start_daemon(env, integrations=[*composition.integrations(), weather])
    try:
        reader = daemon.create_family({WEATHER_SCOPE: "allow"}, label="weather-agent").access_token
        stranger = daemon.create_family({"things:read": "allow"}, label="things-agent").access_token

        async with mcp_client(daemon, reader) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("weather_now", {})
        assert "weather_now" in listed and not any(name.startswith("things_") for name in listed)
        assert result.structured_content == {"sky": "clear", "celsius": 21}
        async with mcp_client(daemon, stranger) as client:
            assert "weather_now" not in {tool.name for tool in (await client.list_tools()).tools}

        async with httpx2.AsyncClient(base_url=daemon.url) as http:
            allowed = await http.get("/weather/v1/now", headers={"Authorization": f"Bearer {reader}"})
            refused = await http.get("/weather/v1/now", headers={"Authorization": f"Bearer {stranger}"})
        assert allowed.status_code == 200 and allowed.json()["sky"] == "clear"
        assert refused.status_code == 403 and refused.json()["error"] == "scope_denied"
        assert weather.reads == 2  # the MCP call and the allowed REST call; the refused one never ran

        decisions = [
            (entry["surface"], entry["scope"], entry["outcome"])
            for entry in audit_entries(daemon.ctx.authority.audit, "decision")
            if entry.get("scope") == WEATHER_SCOPE
        ]
        assert decisions == [
            ("mcp", WEATHER_SCOPE, "allow"),
            ("rest", WEATHER_SCOPE, "allow"),
            ("rest", WEATHER_SCOPE, "deny"),
        ]

        async with await AdminConnection.connect(daemon.settings.admin_socket_path) as admin:
            known = {entry["scope"]: entry for entry in await admin.call("scopes.known")}
        assert known[WEATHER_SCOPE]["tools"] == ["weather_now"]
        assert "things:read" in known and "gpg:sign" in known
        assert "weather      clear skies" in daemon.ctx.announce_lines
        assert daemon.ctx.integration(Weather) is weather
    finally:
        daemon.stop()


def test_two_integrations_with_one_name_refuse_to_start(ctx: DaemonContext) -> None:
    with pytest.raises(CompositionError, match="'weather'"):
        compose(ctx, [Weather(), ToolsOnly("weather", [])], mcp=False)


@dataclass
class RouteOnly:
    name: str
    path: str

    def attach(self, ctx: DaemonContext) -> Contribution:
        return Contribution(routes=[Route(self.path, lambda request: JSONResponse({}), methods=["GET"])])


def test_two_integrations_serving_one_path_refuse_to_start(ctx: DaemonContext) -> None:
    with pytest.raises(CompositionError, match="'weather' and 'imposter' both offer /weather/v1/now"):
        compose(ctx, [Weather(), RouteOnly("imposter", "/weather/v1/now")], mcp=False)


@pytest.mark.parametrize("path", ["/mcp", "/agent-auth/v1/validate", "/.well-known/oauth-authorization-server"])
def test_an_integration_cannot_shadow_the_daemon_s_own_routes(env: dict[str, str], path: str) -> None:
    context = open_context(load_settings(env=env))
    context.url = "http://127.0.0.1:9"
    try:
        with pytest.raises(CompositionError, match=f"two surfaces serve {path}"):
            build_app(context, extra_routes=compose(context, [RouteOnly("imposter", path)])["routes"])
    finally:
        context.gate.close()
        context.authority.audit.close()
        context.authority.db.dispose()


def test_two_integrations_offering_one_tool_refuse_to_start(ctx: DaemonContext) -> None:
    spec = Weather().attach(ctx).tools[0]
    with pytest.raises(CompositionError, match="'a' and 'b' both offer weather_now"):
        compose(ctx, [ToolsOnly("a", [spec]), ToolsOnly("b", [spec])], mcp=False)


def test_the_order_of_the_list_changes_no_tool_and_no_scope(tmp_path: Path) -> None:
    seen = []
    for order in ([Things(), Gpg()], [Gpg(), Things()]):
        with isolated_env(tmp_path / f"home-{len(seen)}") as env:
            context = open_context(load_settings(env=env))
            try:
                compose(context, order, mcp=False)
                assert context.tool_registry is not None
                names = sorted(spec.name for spec in context.tool_registry)
                scopes = json.dumps(context.known_scopes, sort_keys=True)
                seen.append((names, scopes))
            finally:
                context.gate.close()
                context.authority.audit.close()
                context.authority.db.dispose()
    assert seen[0] == seen[1]
    assert "gpg_sign" in seen[0][0] and "things_list_todos" in seen[0][0]


def test_an_integration_that_is_not_attached_is_not_found(ctx: DaemonContext) -> None:
    compose(ctx, [ToolsOnly("notes", [])], mcp=False)
    with pytest.raises(LookupError, match="Weather"):
        ctx.integration(Weather)
