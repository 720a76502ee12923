"""The common case of ``agent-auth token header`` on the standard library alone.

Claude Code runs the headers helper on every (re)connect, so its start-up time is paid often. When the
stored credentials are a 0600 file, the access token is valid for more than the refresh margin and the
daemon (plain http) confirms the token is live, this prints the header without argparse, settings or the
HTTP client. Any other situation — keyring, TLS, refresh, revoked, unreachable, anything unexpected —
returns ``None`` and the full command decides, with its proper messages and exit codes.

Even ``json`` (which pulls in ``re``) and ``socket`` (``enum``, ``selectors``) cost more than the whole
budget's share on a slow machine, so this reads the two flat JSON texts it meets — the credentials file
written by ``json.dumps`` and the daemon's compact status answer — by exact markers, and talks through
``_socket``. Whatever does not match the expected shape exactly falls back to the full command.
"""

from __future__ import annotations

import _socket
import os
import time

from mcp_server.client.paths import client_config_dir

TYPE_CHECKING = False  # not `from typing import`: typing costs milliseconds on this hot path

if TYPE_CHECKING:
    from collections.abc import Mapping

REFRESH_MARGIN_SECONDS = 60.0  # the same margin as mcp_server.client.credentials
PROBE_TIMEOUT_SECONDS = 3.0
MAX_RESPONSE_BYTES = 65536


def _split_http_url(url: str) -> tuple[str, int, str] | None:
    if not url.startswith("http://"):
        return None
    netloc, _, prefix = url[len("http://") :].partition("/")
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else "80"
    else:
        host, _, port_text = netloc.partition(":")
        port_text = port_text or "80"
    if not host or not port_text.isdigit():
        return None
    return host, int(port_text), "/" + prefix.strip("/") if prefix.strip("/") else ""


def _json_string(text: str, key: str) -> str | None:
    """The value of ``"key": "value"`` in ``json.dumps`` output, when it is plain (no escapes)."""
    marker = f'"{key}": "'
    if text.count(marker) != 1:
        return None
    start = text.index(marker) + len(marker)
    end = text.find('"', start)
    value = text[start:end] if end > start else ""
    return value if value and "\\" not in value else None


def _json_number(text: str, key: str, separator: str = ": ") -> float | None:
    marker = f'"{key}"{separator}'
    if text.count(marker) != 1:
        return None
    start = text.index(marker) + len(marker)
    end = start
    while end < len(text) and text[end] in "0123456789.eE+-":
        end += 1
    try:
        return float(text[start:end])
    except ValueError:
        return None


def _token_is_live(url: str, token: str) -> bool:
    parts = _split_http_url(url)
    if parts is None:
        return False
    host, port, prefix = parts
    request = (
        f"GET {prefix}/agent-auth/v1/token/status HTTP/1.1\r\nHost: {url[len('http://') :].split('/')[0]}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks: list[bytes] = []
    try:
        family, kind, proto, _, address = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)[0]
        conn = _socket.socket(family, kind, proto)
        try:
            conn.settimeout(PROBE_TIMEOUT_SECONDS)
            conn.connect(address)
            conn.sendall(request)
            size = 0
            while chunk := conn.recv(16384):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return False
        finally:
            conn.close()
    except (OSError, IndexError):
        return False
    head, _, raw_body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200 ") or any(
        line.lower().startswith(b"transfer-encoding:") for line in lines[1:]
    ):
        return False
    body = raw_body.decode("utf-8", "replace")
    # The daemon answers with compact JSON (starlette's JSONResponse): "revoked":false,"expires_in":N
    expires_in = _json_number(body, "expires_in", ":")
    return (
        body.startswith("{")
        and body.count('"revoked":') == 1
        and '"revoked":false' in body
        and expires_in is not None
        and expires_in > REFRESH_MARGIN_SECONDS
    )


def try_fast_header(env: Mapping[str, str]) -> str | None:
    """The header line to print, or ``None`` when the full command must decide."""
    if env.get("AGENT_AUTH_CREDENTIALS_STORE", "auto") == "keyring":
        return None
    path = os.path.join(client_config_dir(env), "credentials.json")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_RESPONSE_BYTES)
    except (OSError, ValueError):
        return None
    if not text.startswith("{"):
        return None
    url, token = _json_string(text, "server_url"), _json_string(text, "access_token")
    expires_at = _json_number(text, "access_expires_at")
    if url is None or token is None or expires_at is None:
        return None
    if not token.replace("_", "").replace("-", "").isalnum():
        return None
    if expires_at - time.time() <= REFRESH_MARGIN_SECONDS or not _token_is_live(url, token):
        return None
    return '{"Authorization": "Bearer ' + token + '"}'
