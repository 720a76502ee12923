"""``agent-auth-gpg``: :mod:`tools.gpg.shim` with this machine's agent-auth client credentials.

The token comes from ``AGENT_AUTH_TOKEN`` (with ``AGENT_AUTH_URL``) when set, else from the credentials
stored by ``agent-auth login`` (keyring or 0600 file), refreshed — or reissued after a person's approval —
when they are about to expire. git runs this on every signed commit, so everything beyond the shim itself
is imported only on the path that needs it.
"""

from __future__ import annotations

import sys

from tools.gpg.shim import HttpBridgeBackend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tools.gpg.backend import SigningBackend

_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class PlainHttpBridgeBackend(HttpBridgeBackend):
    """:class:`HttpBridgeBackend` speaking HTTP/1.1 over a plain socket for ``http://`` URLs.

    Importing :mod:`http.client` (with :mod:`ssl` and :mod:`email`) costs ~27 ms, more than the rest of a
    signed commit through the daemon; a loopback daemon answers one small JSON request with
    ``Content-Length``, which a socket handles in a few lines. ``https://`` keeps the parent's client.
    """

    def _post(self, path: str, payload: dict[str, object], *, accept_codes: Sequence[str]) -> dict[str, object]:
        if self._scheme != "http":
            return super()._post(path, payload, accept_codes=accept_codes)
        import json
        import socket

        from tools.gpg.errors import BridgeRejectedError, BridgeUnreachableError

        data = json.dumps(payload).encode("utf-8")
        head = (
            f"POST {self._base_path}{path} HTTP/1.1\r\nHost: {self._authority}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {self._token_provider()}\r\nUser-Agent: agent-auth-gpg\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        host, _, port = self._authority.rpartition(":")
        if not host or not port.isdigit():
            host, port = self._authority, "80"
        chunks: list[bytes] = []
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=self._timeout_seconds) as sock:
                sock.sendall(head.encode("latin-1") + data)
                received = 0
                while chunk := sock.recv(65536):
                    received += len(chunk)
                    if received > _MAX_RESPONSE_BYTES:
                        raise OSError("the response is too large")
                    chunks.append(chunk)
        except OSError as exc:
            raise BridgeUnreachableError(
                f"cannot reach the agent-auth daemon at {self._url} ({exc}); is `agent-auth serve` "
                "running and AGENT_AUTH_URL right?"
            ) from exc
        raw_head, _, raw_body = b"".join(chunks).partition(b"\r\n\r\n")
        status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        if len(parts) < 2 or not parts[1].isdigit() or "chunked" in headers.get("transfer-encoding", ""):
            # Not the simple answer we expect: let the full HTTP client handle it.
            return super()._post(path, payload, accept_codes=accept_codes)
        status = int(parts[1])
        try:
            body = json.loads(raw_body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BridgeUnreachableError(f"the daemon answered HTTP {status} without a JSON object")
        error = body.get("error")
        if (status == 200 and error is None) or (isinstance(error, str) and error in accept_codes):
            return body
        code = error if isinstance(error, str) else "http_error"
        detail = body.get("detail")
        hint = f": {detail}" if isinstance(detail, str) and detail else ""
        raise BridgeRejectedError(f"the daemon refused ({code}, HTTP {status}){hint}", code=code, http_status=status)


def backend_factory(environ: Mapping[str, str]) -> SigningBackend:
    """The daemon's REST bridge, authenticated by the environment's token or the stored credentials."""
    from tools.gpg.errors import ShimNotConfiguredError

    url = environ.get("AGENT_AUTH_URL", "")
    access_token = environ.get("AGENT_AUTH_TOKEN", "")
    if access_token:
        if not url:
            raise ShimNotConfiguredError("set AGENT_AUTH_URL to the agent-auth daemon, e.g. http://127.0.0.1:9100")
        return PlainHttpBridgeBackend(url, lambda: access_token)
    from mcp_server.client.credentials import CredentialsError, CredentialStore, fresh_access_token

    store = CredentialStore()
    try:
        stored = store.load()
    except CredentialsError as exc:
        raise ShimNotConfiguredError(f"{exc.message} [{exc.code}]") from None
    if stored is None:
        raise ShimNotConfiguredError(
            "no agent-auth credentials: run 'agent-auth login' on this machine, or set AGENT_AUTH_URL and "
            "AGENT_AUTH_TOKEN (a token with the gpg:sign scope)"
        )

    def token() -> str:
        try:
            return fresh_access_token(store).access_token
        except CredentialsError as exc:
            raise ShimNotConfiguredError(exc.message) from None

    return PlainHttpBridgeBackend(url or stored.server_url, token)


def main() -> int:
    """Console-script entry: argv from :data:`sys.argv`, gpg-compatible exit code."""
    if sys.argv[1:] == ["--version"]:
        import importlib.metadata

        try:
            version = importlib.metadata.version("agent-auth")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        sys.stdout.write(f"agent-auth-gpg {version}\n")
        return 0
    from tools.gpg.shim import main as shim_main

    return shim_main(backend_factory=backend_factory)
