"""``agent-auth approvals``: pending requests with their details, narrow grants listed and ended, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

from tests.support.approvals import EVENT_TIMEOUT_SECONDS
from tests.support.daemon import isolated_env, start_daemon


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.cli.main", *args],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_person_approves_for_minutes_sees_the_narrow_grant_and_ends_it(tmp_path: Path) -> None:
    with isolated_env(tmp_path) as env:
        daemon = start_daemon(env)
        try:
            token = daemon.create_family({"gpg:sign": "prompt"}, label="ci").access_token
            body = {"token": token, "required_scope": "gpg:sign", "description": "sign v1.0"}
            broker = daemon.ctx.broker
            with ThreadPoolExecutor(1) as pool, httpx2.Client(base_url=daemon.url, timeout=30) as http:
                waiting = pool.submit(http.post, "/agent-auth/v1/validate", json=body)
                listed: list[dict[str, object]] = []
                for _ in range(int(EVENT_TIMEOUT_SECONDS * 10)):  # bounded: the request reaches the broker
                    listed = json.loads(cli(env, "approvals", "list", "--json").stdout)
                    if listed:
                        break
                [pending] = listed
                assert pending["claim"] == "sign v1.0" and pending["scope"] == "gpg:sign"
                approved = cli(env, "approvals", "approve", str(pending["id"]), "--minutes", "5", "--json")
                assert approved.returncode == 0, approved.stderr
                assert json.loads(approved.stdout)["decision"]["decided_by"].startswith("admin-socket uid=")
                assert waiting.result(timeout=30).status_code == 200
            [grant] = json.loads(cli(env, "approvals", "grants", "--json").stdout)
            assert (grant["scope"], grant["surface"], grant["target"]) == ("gpg:sign", "rest", "validate")
            assert 0 < int(grant["seconds_left"]) <= 300
            ended = cli(env, "approvals", "revoke", str(grant["id"]))
            assert ended.returncode == 0, ended.stderr
            assert json.loads(cli(env, "approvals", "grants", "--json").stdout) == []
            assert daemon.in_loop(broker.grants) == []
        finally:
            daemon.stop()
