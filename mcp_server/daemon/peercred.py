"""Who is at the other end of a unix socket: the kernel-attested uid, on every platform the daemon supports.

- Linux: ``getsockopt(SOL_SOCKET, SO_PEERCRED)`` returns ``struct ucred {pid_t pid; uid_t uid; gid_t gid;}``.
- macOS and FreeBSD: ``getsockopt(SOL_LOCAL, LOCAL_PEERCRED)`` returns ``struct xucred {u_int cr_version;
  uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; …}`` (``sys/ucred.h``; ``SOL_LOCAL`` is 0 and
  ``LOCAL_PEERCRED`` is 1 in ``sys/un.h``; ``XUCRED_VERSION`` is 0). FreeBSD appends a pointer-sized union,
  so only the prefix is decoded.

CPython has no ``os.getpeereid``, so both structures are read with ``getsockopt`` and decoded from bytes here;
the decoders are pure functions with known-answer tests, so the macOS path runs on Linux too. A platform
without a reader refuses to start the admin socket (:class:`PeerCredentialsUnsupportedError`) instead of
refusing every client.
"""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Callable
from typing import Protocol

from mcp_server.errors import AgentAuthError

_LINUX_UCRED = struct.Struct("=iII")  # pid_t pid; uid_t uid; gid_t gid
_XUCRED_PREFIX = struct.Struct("=IIh")  # u_int cr_version; uid_t cr_uid; short cr_ngroups
XUCRED_VERSION = 0
XUCRED_NGROUPS = 16
# u_int + uid_t + short (padded to 4 for the gid_t array) + gid_t[16]
XUCRED_SIZE = 4 + 4 + 4 + 4 * XUCRED_NGROUPS
SOL_LOCAL = 0
LOCAL_PEERCRED = 0x001


class PeerCredentialsError(AgentAuthError):
    """The peer's credentials could not be read or did not decode; the connection must be refused."""

    code = "peer_refused"


class PeerCredentialsUnsupportedError(PeerCredentialsError):
    """This platform offers no way to learn a unix-socket peer's uid that we know how to read."""

    code = "peer_credentials_unsupported"


class _CredentialSocket(Protocol):
    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...


def decode_linux_ucred(raw: bytes) -> int:
    """The uid in a Linux ``struct ucred``."""
    if len(raw) < _LINUX_UCRED.size:
        raise PeerCredentialsError(f"SO_PEERCRED returned {len(raw)} bytes, expected {_LINUX_UCRED.size}")
    _pid, uid, _gid = _LINUX_UCRED.unpack_from(raw)
    return int(uid)


def decode_xucred(raw: bytes) -> int:
    """The effective uid in a BSD/macOS ``struct xucred``; refuses an unknown layout version."""
    if len(raw) < _XUCRED_PREFIX.size:
        raise PeerCredentialsError(f"LOCAL_PEERCRED returned {len(raw)} bytes, too short for struct xucred")
    version, uid, ngroups = _XUCRED_PREFIX.unpack_from(raw)
    if version != XUCRED_VERSION:
        raise PeerCredentialsError(f"struct xucred has layout version {version}, expected {XUCRED_VERSION}")
    if not 0 <= ngroups <= XUCRED_NGROUPS:
        raise PeerCredentialsError(f"struct xucred claims {ngroups} groups (at most {XUCRED_NGROUPS})")
    return int(uid)


def _linux_peer_uid(sock: _CredentialSocket) -> int:
    return decode_linux_ucred(sock.getsockopt(socket.SOL_SOCKET, _so_peercred(), _LINUX_UCRED.size))


def _so_peercred() -> int:
    # 17 on every Linux architecture CPython supports except a few (where the socket module has it anyway).
    return int(getattr(socket, "SO_PEERCRED", 17))


def _bsd_peer_uid(sock: _CredentialSocket) -> int:
    return decode_xucred(
        sock.getsockopt(SOL_LOCAL, int(getattr(socket, "LOCAL_PEERCRED", LOCAL_PEERCRED)), XUCRED_SIZE)
    )


PeerUidReader = Callable[[_CredentialSocket], int]


def reader_for(platform: str) -> PeerUidReader:
    """The peer-uid reader for ``sys.platform``-style name, or :class:`PeerCredentialsUnsupportedError`."""
    if platform.startswith("linux"):
        return _linux_peer_uid
    if platform == "darwin" or platform.startswith(("freebsd", "dragonfly")):
        return _bsd_peer_uid
    raise PeerCredentialsUnsupportedError(
        f"agent-auth cannot read unix-socket peer credentials on {platform!r}, so it cannot tell the person's own "
        "programs from others on the admin socket; supported: Linux, macOS, FreeBSD"
    )


def peer_uid(sock: socket.socket, *, platform: str = sys.platform) -> int:
    """The kernel-attested uid of the process at the other end of ``sock``."""
    try:
        return reader_for(platform)(sock)
    except OSError as exc:
        raise PeerCredentialsError(f"cannot read the peer's credentials: {exc.strerror or exc}") from exc


LOCAL_PEERPID = 0x002  # macOS sys/un.h: the peer's pid (no FreeBSD equivalent)


def peer_pid(sock: socket.socket, *, platform: str = sys.platform) -> int | None:
    """The kernel-attested pid of the peer, where the platform tells it (Linux, macOS); else None.

    Used to name who decided an approval (never to authorise: the uid check does that). A pid is recorded as
    seen when the connection was accepted; the process may have exited since.
    """
    try:
        if platform.startswith("linux"):
            raw = sock.getsockopt(socket.SOL_SOCKET, _so_peercred(), _LINUX_UCRED.size)
            pid, _uid, _gid = _LINUX_UCRED.unpack_from(raw)
            return int(pid) if pid > 0 else None
        if platform == "darwin":
            raw = sock.getsockopt(SOL_LOCAL, int(getattr(socket, "LOCAL_PEERPID", LOCAL_PEERPID)), 4)
            pid = struct.unpack("=i", raw[:4])[0] if len(raw) >= 4 else 0
            return int(pid) if pid > 0 else None
    except OSError:
        return None
    return None
