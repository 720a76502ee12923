"""``mcp_server.gpg_shim``: where ``agent-auth-gpg`` gets its daemon URL and token, and its plain-socket client."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mcp_server.gpg_shim import PlainHttpBridgeBackend, backend_factory
from tools.gpg.errors import BridgeUnreachableError, ShimNotConfiguredError


def test_a_token_without_a_url_is_a_configuration_error() -> None:
    with pytest.raises(ShimNotConfiguredError) as raised:
        backend_factory({"AGENT_AUTH_TOKEN": "aa_x_y"})
    assert raised.value.code == "shim_not_configured"


def test_without_a_token_or_stored_credentials_the_shim_says_how_to_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AGENT_AUTH_CREDENTIALS_STORE", "file")
    with pytest.raises(ShimNotConfiguredError) as raised:
        backend_factory({"AGENT_AUTH_URL": "http://127.0.0.1:9"})
    assert "agent-auth login" in raised.value.message


def test_an_unreachable_daemon_is_reported_as_such() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = PlainHttpBridgeBackend(f"http://127.0.0.1:{port}", lambda: "aa_x_y", timeout_seconds=2.0)
    with pytest.raises(BridgeUnreachableError) as raised:
        backend.sign("A" * 40, b"tree x\n")
    assert raised.value.code == "bridge_unreachable"
