"""``agent-auth consent list|approve|deny`` against a running daemon (the real command in a subprocess)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx2
import pytest

from tests.cli.cli_test_support import REPO_ROOT, run_cli
from tests.mcp.mcp_test_support import ADMIN_SCOPE, READ_SCOPE, WRITE_SCOPE, ToolRuns, start_mcp_daemon
from tests.oauth.oauth_support import REDIRECT_URI, pkce_pair, query
from tests.support.daemon import RunningDaemon, isolated_env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[RunningDaemon, dict[str, str]]]:
    with isolated_env(tmp_path) as env:
        running = start_mcp_daemon(env, ToolRuns())
        cli_env = {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO_ROOT)}
        cli_env["LANG"] = "C.UTF-8"
        try:
            yield running, cli_env
        finally:
            running.stop()


def open_consent_page(daemon: RunningDaemon, http: httpx2.Client, scope: str) -> tuple[str, str]:
    """Register a client and open its authorization in the 'browser'; return (page URL, matching code)."""
    registered = http.post(
        f"{daemon.url}/register",
        json={"client_name": "CLI Client", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"},
    )
    client_id = registered.json()["client_id"]
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st",
        "scope": scope,
        "resource": f"{daemon.url}/mcp",
    }
    page_url = http.get(f"{daemon.url}/authorize?{urlencode(params)}").headers["location"]
    match = re.search(r'id="code">([A-Z0-9-]+)<', http.get(page_url).text)
    assert match is not None
    return page_url, match.group(1)


def test_consent_approve_by_matching_code_with_chosen_tiers_and_label(
    served: tuple[RunningDaemon, dict[str, str]],
) -> None:
    daemon, env = served
    with httpx2.Client() as http:
        page_url, code = open_consent_page(daemon, http, f"{READ_SCOPE} {WRITE_SCOPE}")
        listed = run_cli(env, "consent", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [c["matching_code"] for c in listed.json()] == [code]
        text = run_cli(env, "consent", "list")
        assert code in text.stdout and "CLI Client" in text.stdout and "127.0.0.1:53682" in text.stdout

        wrong = run_cli(env, "consent", "approve", "AAA-AAA", "--json")
        assert wrong.returncode == 3 and wrong.error_code() == "consent_not_found"

        approved = run_cli(
            env, "consent", "approve", code.lower().replace("-", ""), "-s", f"{WRITE_SCOPE}=deny",
            "-s", f"{ADMIN_SCOPE}=prompt", "--label", "cli-approved", "--json",
        )  # fmt: skip
        assert approved.returncode == 0, approved.stderr
        decision = approved.json()["decision"]
        assert decision == {
            "scopes": {READ_SCOPE: "allow", WRITE_SCOPE: "deny", ADMIN_SCOPE: "prompt"},
            "label": "cli-approved",
        }
        back = http.get(page_url)
        assert back.status_code == 302 and "code" in query(back.headers["location"])


def test_consent_deny_sends_access_denied(served: tuple[RunningDaemon, dict[str, str]]) -> None:
    daemon, env = served
    with httpx2.Client() as http:
        page_url, code = open_consent_page(daemon, http, READ_SCOPE)
        denied = run_cli(env, "consent", "deny", code)
        assert denied.returncode == 0 and "denied" in denied.stdout
        assert query(http.get(page_url).headers["location"])["error"] == "access_denied"
        assert run_cli(env, "consent", "list", "--json").json() == []
