"""HTTP plumbing for the benchmarks: server processes, a minimal keep-alive client, load generators, RSS.

The 1-client latency figures use a blocking raw-socket HTTP/1.1 client so the client adds as little as
possible on top of the server. Throughput uses ``wrk`` when it is installed (one thread, so the server keeps
the other core), else an asyncio load generator in a separate process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60.0


@dataclass
class ServerProcess:
    kind: str
    process: subprocess.Popen[str]
    url: str
    pid: int

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        assert parts.hostname is not None and parts.port is not None
        return parts.hostname, parts.port

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(kind: str, env: Mapping[str, str] | None = None) -> ServerProcess:
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._servers", kind],
        cwd=REPO,
        env=full_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {kind} server exited before it was ready (exit {process.wait()})")
        if line.startswith("READY "):
            info = json.loads(line[6:])
            return ServerProcess(kind, process, info["url"], int(info["pid"]))
    process.kill()
    raise RuntimeError(f"the {kind} server did not start within {READY_TIMEOUT_SECONDS} s")


class KeepAliveClient:
    """One persistent HTTP/1.1 connection; ``post`` returns (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}"
        self.buffer = b""

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        ).encode() + body
        self.sock.sendall(request)
        return self._read_response()

    def _read_response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            rest += chunk
        self.buffer = rest[length:]
        return status, rest[:length]

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def timed_posts_ms(client: KeepAliveClient, path: str, body: bytes, count: int, expect: int = 200) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        status, _ = client.post(path, body)
        samples.append((clock() - start) / 1e6)
        if status != expect:
            raise RuntimeError(f"unexpected status {status} from {path}")
    return samples


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
"""


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"cannot read a wrk latency {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url: str, body: bytes, connections: int, seconds: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_WRK_SCRIPT.format(body=json.dumps(body.decode())))
        script = fh.name
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", script, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    summary = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    assert summary is not None, out
    secs = float(summary.group(2)) / (1000 if summary.group(3) == "ms" else 1)
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)",):
        found = re.search(pattern, out)
        if found:
            errors += int(found.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    assert p50 is not None and p99 is not None, out
    return LoadResult(int(summary.group(1)), secs, errors, _wrk_ms(p50.group(1)), _wrk_ms(p99.group(1)), "wrk")


def run_load(url: str, body: bytes, connections: int, seconds: float) -> LoadResult:
    if have_wrk():
        return run_wrk(url, body, connections, seconds)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._loadgen", url, str(connections), str(seconds)],
        input=body,
        capture_output=True,
        check=True,
        cwd=REPO,
    ).stdout
    data = json.loads(out)
    return LoadResult(data["requests"], data["seconds"], data["errors"], data["p50_ms"], data["p99_ms"], "asyncio")


def ensure_wrk() -> str:
    """Install wrk with apt-get when it is missing and we are root; say what happened."""
    if have_wrk():
        return "wrk found"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "wrk missing (not root or no apt-get): using the asyncio load generator"
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if result.returncode == 0 and have_wrk():
        return "wrk installed with apt-get"
    return "wrk could not be installed: using the asyncio load generator"
