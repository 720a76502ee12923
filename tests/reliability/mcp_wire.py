"""A raw JSON-RPC client for ``/mcp`` (handshake era, 2025-06-18): lets a test send what no SDK would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx2

PROTOCOL_VERSION = "2025-06-18"


@dataclass
class WireReply:
    status: int
    body: Any  # the JSON-RPC message (from JSON or the first SSE ``data:`` line), or None
    text: str


def parse_reply(response: httpx2.Response) -> WireReply:
    text = response.text
    body: Any = None
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in text.splitlines():
            if line.startswith("data:"):
                body = json.loads(line[5:])
    elif text:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    return WireReply(response.status_code, body, text)


class McpWire:
    def __init__(self, http: httpx2.Client, token: str) -> None:
        self.http = http
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        self.next_id = 1

    def open(self) -> dict[str, Any]:
        reply = self.call(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "hostile", "version": "0"},
            },
            session=False,
        )
        assert reply.status == 200, reply.text
        self.post_raw(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode())
        result = reply.body["result"]
        assert isinstance(result, dict)
        return result

    def post_raw(self, content: bytes, *, session: bool = True) -> WireReply:
        headers = dict(self.headers)
        if not session:
            headers.pop("mcp-session-id", None)
            headers.pop("mcp-protocol-version", None)
        response = self.http.post("/mcp", content=content, headers=headers)
        if "mcp-session-id" not in self.headers and "mcp-session-id" in response.headers and response.is_success:
            self.headers["mcp-session-id"] = response.headers["mcp-session-id"]
            self.headers["mcp-protocol-version"] = PROTOCOL_VERSION
        return parse_reply(response)

    def call(self, method: str, params: Any = None, *, session: bool = True) -> WireReply:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params is not None:
            message["params"] = params
        return self.post_raw(json.dumps(message).encode(), session=session)

    def tools(self) -> list[dict[str, Any]]:
        reply = self.call("tools/list", {})
        assert reply.status == 200, reply.text
        tools = reply.body["result"]["tools"]
        assert isinstance(tools, list)
        return tools
