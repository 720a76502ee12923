"""The daemon's TCP listener gives accepted connections TCP_NODELAY.

Found by this suite: ``bind_socket`` made the listener with protocol 0, asyncio only sets TCP_NODELAY on
accepted sockets whose protocol is IPPROTO_TCP, and uvicorn writes a response's head and body separately —
so every response on 127.0.0.1 waited ~40 ms for the client's delayed ACK (Nagle). Checked structurally,
not by timing.
"""

from __future__ import annotations

import asyncio
import socket

from mcp_server.daemon.serve import bind_socket


def test_connections_accepted_by_the_daemon_listener_have_tcp_nodelay() -> None:
    listener = bind_socket("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0
