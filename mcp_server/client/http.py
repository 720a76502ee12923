"""A minimal JSON-over-HTTP client on the standard library (fast to import, TLS with an optional CA)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp_server.errors import AgentAuthError


class DaemonUnreachableError(AgentAuthError):
    code = "daemon_unreachable"


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def error_code(self) -> str | None:
        code = self.body.get("error")
        return code if isinstance(code, str) else None


def request_json(
    method: str,
    url: str,
    *,
    body: dict[str, Any] | None = None,
    bearer: str | None = None,
    ca_cert: str | None = None,
    timeout_seconds: float = 30.0,
) -> HttpResult:
    import http.client

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=ca_cert) if ca_cert else ssl.create_default_context()
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout_seconds, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_seconds)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise DaemonUnreachableError(
            f"cannot reach the agent-auth daemon at {parts.scheme}://{parts.netloc} ({exc}); is it running? "
            "Start it on the host with 'agent-auth serve' (or 'agent-auth demo')"
        ) from None
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"error": "malformed_response"}
    if not isinstance(parsed, dict):
        parsed = {"data": parsed}
    return HttpResult(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})
