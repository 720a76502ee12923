"""The consent page in a real browser (headless Chromium): it renders the request, carries no control that
could approve, and — once the person approved on the admin socket — its script takes the browser back to the
client's loopback redirect with the code. Heavy: needs the Debian ``chromium`` package."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest

from tests.mcp.mcp_test_support import READ_SCOPE, WRITE_SCOPE
from tests.oauth.oauth_support import ConsentPage, RawClient, admin, approve
from tests.support.daemon import RunningDaemon

pytestmark = [pytest.mark.heavy, pytest.mark.anyio]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "oauth-consent-page.png"
BROWSER_TIMEOUT_SECONDS = 90


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return CHROMIUM


class Callback:
    """The client's loopback redirect target: records the query of the request the browser brings back."""

    def __init__(self) -> None:
        received: list[dict[str, str]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if urlsplit(self.path).path == "/callback":  # not the browser's /favicon.ico
                    received.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                body = b"<html><body><p id='done'>signed in</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callback() -> Iterator[Callback]:
    server = Callback()
    yield server
    server.close()


def browser_args(chromium: str, profile: Path, *extra: str) -> list[str]:
    return [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={profile}", "--window-size=1000,1000", *extra,
    ]  # fmt: skip


async def test_the_page_renders_the_request_and_offers_nothing_that_approves(
    daemon: RunningDaemon, chromium: str, tmp_path: Path
) -> None:
    async with httpx2.AsyncClient() as http:
        client = RawClient(daemon, http)
        assert (await client.register(name="Claude Code")).status_code == 201
        url = client.authorize_url(scope=f"{READ_SCOPE} {WRITE_SCOPE}")
        shot = tmp_path / "consent.png"
        await anyio.run_process(
            browser_args(chromium, tmp_path / "p1", f"--screenshot={shot}", "--timeout=3000", url),
            check=True,
        )
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        if os.environ.get("AGENT_AUTH_UPDATE_SCREENSHOTS"):
            shutil.copyfile(shot, DOCS_SCREENSHOT)
        dom = (
            await anyio.run_process(
                browser_args(chromium, tmp_path / "p2", "--dump-dom", "--timeout=3000", url), check=True
            )
        ).stdout.decode()
        pending = (await admin(daemon, "consent.list"))["pending"]
        assert len(pending) == 2  # one per browser visit of the authorization URL; none decided
        assert any(c["matching_code"] in dom for c in pending)
        assert "Claude Code" in dom and READ_SCOPE in dom and WRITE_SCOPE in dom
        for control in ("<form", "<button", "<input"):
            assert control not in dom.lower()


async def test_after_approval_the_page_takes_the_browser_back_to_the_client_with_the_code(
    daemon: RunningDaemon, chromium: str, tmp_path: Path, callback: Callback
) -> None:
    async with httpx2.AsyncClient() as http:
        client = RawClient(daemon, http, redirect_uri=callback.uri)
        assert (await client.register()).status_code == 201
        url = client.authorize_url()
        outcome: dict[str, Any] = {}

        async def browse() -> None:
            with anyio.fail_after(BROWSER_TIMEOUT_SECONDS):
                done = await anyio.run_process(
                    browser_args(chromium, tmp_path / "p3", "--dump-dom", "--virtual-time-budget=5000", url)
                )
            outcome["dom"] = done.stdout.decode()

        async with anyio.create_task_group() as tg:
            tg.start_soon(browse)
            with anyio.fail_after(BROWSER_TIMEOUT_SECONDS):
                while not (await admin(daemon, "consent.list"))["pending"]:
                    await anyio.sleep(0.1)
            consent = (await admin(daemon, "consent.list"))["pending"][0]
            code = str(consent["matching_code"])
            await approve(daemon, ConsentPage(url="", html="", matching_code=code))
        assert "signed in" in outcome["dom"]
        assert len(callback.received) == 1 and callback.received[0]["state"] == client.state
        tokens = await client.token(callback.received[0]["code"])
        assert tokens.status_code == 200
