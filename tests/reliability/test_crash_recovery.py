"""``kill -9`` of a real ``agent-auth serve`` process under a load of creations and refreshes, then restart.

Creations go over the admin socket, refreshes over HTTP, from several threads; each thread records only
what the daemon acknowledged. After SIGKILL: ``PRAGMA integrity_check`` is ok, no family is half-rotated
(exactly one live access and one live refresh token per live family), every acknowledged token still works
after a restart unless a refresh that was in flight at the kill committed (at most one per refresher), and
``agent-auth verify-audit`` passes — a torn last line must be reported in its notes, not rolled over silently.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from auth import tokens
from mcp_server.settings import Settings, load_settings
from tests.support.executables import installed_script

AGENT_AUTH = str(installed_script("agent-auth"))
START_TIMEOUT_SECONDS = 30.0
REFRESHERS = 3
CREATORS = 2


@dataclass
class Acknowledged:
    """What the daemon confirmed: family id → its latest acknowledged (access, refresh) pair."""

    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)
    creations: int = 0
    refreshes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _wait_for(predicate: object, timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def serve_process(env: Mapping[str, str], settings: Settings) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    settings.daemon_state_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [AGENT_AUTH, "serve", "--port", "0"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(
            lambda: settings.daemon_state_path.exists() or process.poll() is not None, START_TIMEOUT_SECONDS, "serve"
        )
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        url = json.loads(settings.daemon_state_path.read_text())["url"]
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stderr:
            process.stderr.close()


def admin_call(path: Path, method: str, **params: object) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(json.dumps({"id": 1, "method": method, "params": params}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("admin socket closed")
            data += chunk
    answer = json.loads(data)
    if "result" not in answer:
        raise ConnectionError(str(answer.get("error")))
    result = answer["result"]
    assert isinstance(result, dict)
    return result


def load(settings: Settings, url: str, acked: Acknowledged, stop: threading.Event) -> list[threading.Thread]:
    def creator(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                created = admin_call(
                    settings.admin_socket_path, "families.create", scopes={"things:read": "allow"}, label=f"c{n}-{i}"
                )
            except (OSError, ConnectionError, ValueError):
                return  # the daemon died
            i += 1
            with acked.lock:
                acked.pairs[str(created["family_id"])] = (str(created["access_token"]), str(created["refresh_token"]))
                acked.creations += 1

    def refresher(n: int) -> None:
        with httpx2.Client(base_url=url, timeout=10) as http:
            while not stop.is_set():
                with acked.lock:
                    # A stable partition: each family has exactly one refresher, so no refresh token is
                    # ever sent twice (which would be reuse and rightly revoke the family).
                    mine = [fid for fid in acked.pairs if int(fid, 16) % REFRESHERS == n]
                    if not mine:
                        continue
                    family_id = mine[acked.refreshes % len(mine)]
                    _access, refresh = acked.pairs[family_id]
                try:
                    reply = http.post("/agent-auth/v1/token/refresh", json={"refresh_token": refresh})
                except httpx2.TransportError:
                    return
                assert reply.status_code == 200, reply.text
                body = reply.json()
                with acked.lock:
                    acked.pairs[family_id] = (body["access_token"], body["refresh_token"])
                    acked.refreshes += 1

    threads = [threading.Thread(target=creator, args=(n,), daemon=True) for n in range(CREATORS)]
    threads += [threading.Thread(target=refresher, args=(n,), daemon=True) for n in range(REFRESHERS)]
    for thread in threads:
        thread.start()
    return threads


def live_tokens(db_path: Path) -> dict[str, dict[str, list[str]]]:
    """Live (not revoked, not consumed) token ids by family and kind, for families not revoked."""
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute(
            "SELECT t.family_id, t.kind, t.id FROM tokens t JOIN families f ON f.id = t.family_id "
            "WHERE f.revoked_at IS NULL AND t.revoked_at IS NULL AND t.consumed_at IS NULL"
        ).fetchall()
        families = [row[0] for row in db.execute("SELECT id FROM families WHERE revoked_at IS NULL")]
    live: dict[str, dict[str, list[str]]] = {fid: {"access": [], "refresh": []} for fid in families}
    for family_id, kind, token_id in rows:
        live[family_id][kind].append(token_id)
    return live


def crash_cycle(env: Mapping[str, str], min_operations: int) -> dict[str, int]:
    settings = load_settings(env=env)
    acked = Acknowledged()
    stop = threading.Event()
    with serve_process(env, settings) as (process, url):
        threads = load(settings, url, acked, stop)
        _wait_for(
            lambda: acked.creations >= min_operations and acked.refreshes >= min_operations,
            60,
            f"{min_operations} acknowledged creations and refreshes",
        )
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        stop.set()
        for thread in threads:
            thread.join(15)
    torn = not settings.audit_log_path.read_bytes().endswith(b"\n")

    live = live_tokens(settings.database_path)
    half_rotated = {
        fid: kinds for fid, kinds in live.items() if len(kinds["access"]) != 1 or len(kinds["refresh"]) != 1
    }
    assert not half_rotated, half_rotated

    in_flight = 0
    with serve_process(env, settings) as (_process, url), httpx2.Client(base_url=url, timeout=10) as http:
        for family_id, (access, refresh) in acked.pairs.items():
            assert family_id in live, f"acknowledged family {family_id} is gone"
            if tokens.parse(access).token_id != live[family_id]["access"][0]:
                in_flight += 1  # a refresh sent before the kill committed but was never acknowledged
                continue
            reply = http.post("/agent-auth/v1/validate", json={"token": access, "required_scope": "things:read"})
            assert reply.status_code == 200, (family_id, reply.text)
            assert tokens.parse(refresh).token_id == live[family_id]["refresh"][0]
        assert in_flight <= REFRESHERS
        # One acknowledged refresh token still rotates after the restart.
        family_id, (_access, refresh) = next(
            (fid, pair) for fid, pair in acked.pairs.items() if tokens.parse(pair[0]).token_id == live[fid]["access"][0]
        )
        assert http.post("/agent-auth/v1/token/refresh", json={"refresh_token": refresh}).status_code == 200

    verify = subprocess.run(
        [AGENT_AUTH, "--json", "verify-audit"], env={**os.environ, **env}, capture_output=True, timeout=60, check=False
    )
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    report = json.loads(verify.stdout)
    if torn:
        assert report.get("notes"), f"a torn last line was rolled over without a note: {report}"
    return {
        "creations": acked.creations,
        "refreshes": acked.refreshes,
        "in_flight_committed": in_flight,
        "torn": int(torn),
    }


def test_kill_9_under_load_loses_nothing_acknowledged(daemon_env: dict[str, str]) -> None:
    figures = crash_cycle(daemon_env, min_operations=40)
    print(f"kill -9 cycle: {figures}")


@pytest.mark.heavy
def test_repeated_kill_9_under_load_loses_nothing_acknowledged(daemon_env: dict[str, str]) -> None:
    totals: dict[str, int] = {}
    for _cycle in range(6):
        for name, value in crash_cycle(daemon_env, min_operations=150).items():
            totals[name] = totals.get(name, 0) + value
    print(f"6 kill -9 cycles: {totals}")
