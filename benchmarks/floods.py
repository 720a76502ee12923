"""Flood figures against a real ``agent-auth serve`` (its own process, ``ulimit -n 1024``), baselines in the same run.

Run: ``python -m benchmarks.floods [--sessions N]``. Prints one line per figure:

- idle TCP connections (no token) opened past the descriptor limit, and whether /health, the admin socket and
  /mcp still answer (baseline: the same requests before the flood);
- RSS after 30 000 requests with junk HTTP methods (baseline: RSS after 30 000 GET /agent-auth/health);
- RSS while 60 unauthenticated connections announce 4 MiB bodies on /mcp (baseline: RSS before);
- MCP sessions one family can open (default cap) and whether another family still opens one;
- time from the second SIGTERM to exit with N sessions open (baseline: with none).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2

AGENT_AUTH = str(Path(sys.executable).parent / "agent-auth")
NOFILE = 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Daemon:
    def __init__(self, nofile: int = NOFILE, **settings: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="aa-flood-"))
        self.env = {
            **os.environ,
            "AGENT_AUTH_HOME": str(self.home),
            "AGENT_AUTH_KEY_STORE": "file",
            "AGENT_AUTH_PORT": "0",
            "AGENT_AUTH_RATE_LIMIT_PER_MINUTE": "100000000",
            **{f"AGENT_AUTH_{k.upper()}": v for k, v in settings.items()},
        }

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.process = subprocess.Popen(
            [AGENT_AUTH, "serve"], env=self.env, preexec_fn=limit, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        state = self.home / "run" / "daemon.json"
        deadline = time.monotonic() + 60
        while not state.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "serve did not start: " + (self.process.stderr.read().decode() if self.process.stderr else "")
                )
            time.sleep(0.05)
        info = json.loads(state.read_text())
        self.url = info["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.admin = self.home / "run" / "admin.sock"

    def admin_call(self, method: str, **params: Any) -> Any:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.admin))
            sock.sendall(json.dumps({"id": 1, "method": method, "params": params}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                data += sock.recv(65536)
        return json.loads(data)["result"]

    def token(self) -> str:
        created = self.admin_call("families.create", scopes={"things:read": "allow"}, label="flood")
        return str(created["access_token"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def open_session(http: httpx2.Client, token: str) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "f", "version": "0"}},
    }
    reply = http.post(
        "/mcp",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
    )
    return reply.status_code


def serves(daemon: Daemon, token: str) -> dict[str, Any]:
    with httpx2.Client(base_url=daemon.url, timeout=10) as http:
        started = time.perf_counter()
        health = http.get("/agent-auth/health").status_code
        mcp = open_session(http, token)
        elapsed_ms = (time.perf_counter() - started) * 1000
    status = daemon.admin_call("status")
    return {"health": health, "mcp": mcp, "admin": bool(status), "ms": round(elapsed_ms, 1)}


def pipelined(port: int, lines: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        for line in lines:
            sock.sendall(line)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = (
                int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if b"content-length" in head.lower()
                else 0
            )
            while len(rest) < length:
                rest += sock.recv(65536)


def flood_requests(daemon: Daemon, methods: list[str], total: int, threads: int = 4) -> None:
    per = total // threads
    workers = [
        threading.Thread(
            target=pipelined,
            args=(
                daemon.port,
                [
                    f"{methods[(t * per + i) % len(methods)]} /agent-auth/health HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                    for i in range(per)
                ],
            ),
        )
        for t in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def figure_idle_connections() -> str:
    daemon = Daemon()
    try:
        token = daemon.token()
        before = serves(daemon, token)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), max(hard, 4096)))
        idle = [socket.create_connection(("127.0.0.1", daemon.port)) for _ in range(1100)]
        after = serves(daemon, token)
        alive = daemon.process.poll() is None
        for sock in idle:
            sock.close()
        return f"idle connections: 1100 held open (ulimit -n {NOFILE}); before {before}; during {after}; alive={alive}"
    finally:
        daemon.stop()


def figure_junk_methods() -> str:
    daemon = Daemon()
    try:
        start = rss_mib(daemon.process.pid)
        flood_requests(daemon, ["GET"], 30_000)
        baseline = rss_mib(daemon.process.pid)
        flood_requests(daemon, [f"JUNK{n}" for n in range(30_000)], 30_000)
        junk = rss_mib(daemon.process.pid)
        return (
            f"RSS: start {start:.0f} MiB; after 30 000 GET {baseline:.0f} MiB; "
            f"after 30 000 junk methods {junk:.0f} MiB (+{junk - baseline:.1f} MiB over the baseline)"
        )
    finally:
        daemon.stop()


def figure_big_bodies() -> str:
    daemon = Daemon()
    try:
        before = rss_mib(daemon.process.pid)
        socks = []
        head = (
            b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer junk\r\n"
            + f"Content-Length: {4 * 1024 * 1024}\r\n\r\n".encode()
        )
        chunk = b"[" + b"0," * (512 * 1024)
        statuses = []
        for _ in range(60):
            sock = socket.create_connection(("127.0.0.1", daemon.port))
            sock.sendall(head)
            with contextlib.suppress(OSError):
                sock.sendall(chunk)
            socks.append(sock)
        peak = rss_mib(daemon.process.pid)
        for sock in socks:
            sock.settimeout(5)
            try:
                statuses.append(sock.recv(64).split(b" ")[1].decode())
            except (OSError, IndexError):
                statuses.append("closed")
            sock.close()
        after = rss_mib(daemon.process.pid)
        return (
            f"RSS: before {before:.0f} MiB; with 60 unauthenticated 4 MiB /mcp bodies {peak:.0f} MiB; "
            f"after {after:.0f} MiB; answers {sorted(set(statuses))}"
        )
    finally:
        daemon.stop()


def figure_sessions_and_second_signal(sessions: int) -> list[str]:
    lines = []
    daemon = Daemon()
    try:
        token, other = daemon.token(), daemon.token()
        with httpx2.Client(base_url=daemon.url, timeout=10) as http:
            held = 0
            while open_session(http, token) == 200:
                held += 1
                if held > 10_000:
                    break
            other_ok = open_session(http, other)
        lines.append(f"sessions: one family holds {held}; another family then opens one: HTTP {other_ok}")
    finally:
        daemon.stop()
    for count in (0, sessions):
        daemon = Daemon(mcp_sessions_per_family="100000", max_connections="100000")
        try:
            token = daemon.token()
            opened = 0
            deadline = time.monotonic() + 240
            with httpx2.Client(base_url=daemon.url, timeout=10) as http:
                while opened < count and time.monotonic() < deadline:
                    opened += open_session(http, token) == 200
            daemon.process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            started = time.monotonic()
            daemon.process.send_signal(signal.SIGTERM)
            code = daemon.process.wait(120)
            lines.append(
                f"second signal with {opened} sessions: exited in {time.monotonic() - started:.2f} s (code {code})"
            )
        finally:
            daemon.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    args = parser.parse_args()
    print(figure_idle_connections(), flush=True)
    print(figure_junk_methods(), flush=True)
    print(figure_big_bodies(), flush=True)
    for line in figure_sessions_and_second_signal(args.sessions):
        print(line, flush=True)


if __name__ == "__main__":
    main()
