"""``agent-auth-gpg``: :mod:`tools.gpg.shim` with this machine's agent-auth client credentials.

The token comes from ``AGENT_AUTH_TOKEN`` (with ``AGENT_AUTH_URL``) when set, else from the credentials
stored by ``agent-auth login`` (keyring or 0600 file), refreshed — or reissued after a person's approval —
when they are about to expire. git runs this on every signed commit, so everything beyond the shim itself
is imported only on the path that needs it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tools.gpg.backend import SigningBackend


def backend_factory(environ: Mapping[str, str]) -> SigningBackend:
    """The daemon's REST bridge, authenticated by the environment's token or the stored credentials."""
    from tools.gpg.shim import HttpBridgeBackend, default_backend_factory

    if environ.get("AGENT_AUTH_TOKEN"):
        return default_backend_factory(environ)
    from mcp_server.client.credentials import CredentialsError, CredentialStore, fresh_access_token
    from tools.gpg.errors import ShimNotConfiguredError

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

    return HttpBridgeBackend(environ.get("AGENT_AUTH_URL") or stored.server_url, token)


def main() -> int:
    """Console-script entry: argv from :data:`sys.argv`, gpg-compatible exit code."""
    from tools.gpg.shim import main as shim_main

    return shim_main(backend_factory=backend_factory)
