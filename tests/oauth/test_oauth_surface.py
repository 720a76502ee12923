"""Where the authorization server is offered: loopback http or https issuers only (RFC 8414)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.serve import open_context
from mcp_server.oauth.surface import authorization_server
from mcp_server.settings import load_settings
from tests.support.daemon import isolated_env


@pytest.fixture
def context(tmp_path: Path) -> Iterator[DaemonContext]:
    with isolated_env(tmp_path) as env:
        ctx = open_context(load_settings(env=env))
        yield ctx
        ctx.gate.close()
        ctx.authority.audit.close()
        ctx.authority.db.dispose()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9100", "http://[::1]:9100", "https://host.example:9100"])
def test_loopback_http_and_https_daemons_serve_the_authorization_server(context: DaemonContext, url: str) -> None:
    context.url = url
    paths = {getattr(r, "path", "") for r in authorization_server(context, f"{url}/mcp")["routes"]}
    assert {"/.well-known/oauth-authorization-server", "/authorize", "/token", "/register", "/revoke"} <= paths
    assert "consent.decide" in context.admin_methods
    assert context.oauth is not None


def test_a_daemon_on_a_plain_http_network_address_starts_without_it(context: DaemonContext) -> None:
    context.url = "http://192.0.2.10:9100"
    assert authorization_server(context, "http://192.0.2.10:9100/mcp") == {"routes": [], "lifespan_hooks": []}
