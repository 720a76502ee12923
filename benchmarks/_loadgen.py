"""Fallback load generator when ``wrk`` is missing: N keep-alive connections on asyncio, in its own process.

``python -m benchmarks._loadgen URL CONNECTIONS SECONDS`` with the POST body on stdin; prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlsplit

from benchmarks._harness import percentile


async def worker(host: str, port: int, path: str, body: bytes, until: float, out: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    errors = 0
    try:
        while time.monotonic() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            out.append((time.perf_counter() - start) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


async def main() -> None:
    url, connections, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    body = sys.stdin.buffer.read()
    samples: list[float] = []
    started = time.monotonic()
    until = started + seconds
    errors = await asyncio.gather(
        *(worker(parts.hostname, parts.port, parts.path, body, until, samples) for _ in range(connections))
    )
    elapsed = time.monotonic() - started
    print(
        json.dumps(
            {
                "requests": len(samples),
                "seconds": elapsed,
                "errors": sum(errors),
                "p50_ms": statistics.median(samples),
                "p99_ms": percentile(samples, 0.99),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
