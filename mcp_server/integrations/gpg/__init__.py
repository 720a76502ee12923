"""GPG: ``gpg_sign`` / ``gpg_verify`` / ``gpg_list_keys`` over ``tools/gpg`` and the seed's ``/gpg-bridge/v1``."""

from mcp_server.integrations.gpg.wiring import Gpg

__all__ = ["Gpg"]
