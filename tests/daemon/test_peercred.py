"""Peer credentials of admin-socket clients, per platform, decoded from the kernel's bytes.

The macOS/FreeBSD ``struct xucred`` is built here byte by byte from ``sys/ucred.h`` (little-endian, as on
every Mac CPython runs on) so the code path the daemon takes on a Mac runs on Linux too.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

import pytest

from mcp_server.daemon import peercred
from mcp_server.daemon.peercred import (
    PeerCredentialsError,
    PeerCredentialsUnsupportedError,
    decode_linux_ucred,
    decode_xucred,
    peer_uid,
    reader_for,
)


def _xucred(uid: int, groups: list[int], *, version: int = 0, trailer: bytes = b"") -> bytes:
    head = struct.pack("<IIh", version, uid, len(groups)) + b"\x00\x00"  # short cr_ngroups, padded to gid_t
    body = struct.pack("<16I", *(groups + [0] * (16 - len(groups))))
    return head + body + trailer


def test_xucred_known_answer_for_a_macos_user() -> None:
    raw = _xucred(501, [20, 12, 61, 79, 80, 81, 98, 701, 33, 100, 204, 250, 395, 398, 399, 400])
    assert len(raw) == peercred.XUCRED_SIZE == 76
    assert raw[:12].hex() == "00000000f501000010000000"
    assert decode_xucred(raw) == 501


def test_xucred_with_freebsd_trailer_still_decodes() -> None:
    assert decode_xucred(_xucred(1001, [1001], trailer=struct.pack("<Q", 0xDEADBEEF))) == 1001


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 8,
        _xucred(501, [20], version=1),
        struct.pack("<IIh", 0, 501, 17) + b"\x00" * 66,
        struct.pack("<IIh", 0, 501, -1) + b"\x00" * 66,
    ],
    ids=["empty", "truncated", "unknown-version", "too-many-groups", "negative-groups"],
)
def test_malformed_xucred_is_refused(raw: bytes) -> None:
    with pytest.raises(PeerCredentialsError):
        decode_xucred(raw)


def test_linux_ucred_known_answer() -> None:
    assert decode_linux_ucred(struct.pack("=iII", 4242, 1000, 1000)) == 1000
    assert decode_linux_ucred(struct.pack("=iII", 1, 4_294_967_294, 0)) == 4_294_967_294  # nobody, unsigned
    with pytest.raises(PeerCredentialsError):
        decode_linux_ucred(b"\x01\x02")


class _RecordingSocket:
    """A socket whose getsockopt answers like the macOS kernel and records what it was asked."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.asked: list[tuple[int, int, int]] = []

    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes:
        self.asked.append((level, optname, buflen))
        return self.answer


def test_macos_reader_asks_sol_local_local_peercred_for_a_whole_xucred() -> None:
    sock = _RecordingSocket(_xucred(501, [20]))
    assert reader_for("darwin")(sock) == 501
    assert sock.asked == [(0, 1, 76)]


def test_freebsd_uses_the_same_reader_as_macos() -> None:
    assert reader_for("freebsd14") is reader_for("darwin")


def test_an_unsupported_platform_is_refused_by_name() -> None:
    with pytest.raises(PeerCredentialsUnsupportedError) as caught:
        reader_for("win32")
    assert caught.value.code == "peer_credentials_unsupported"


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a platform with peer credentials")
def test_a_real_connection_reports_our_own_uid() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_uid(left) == os.getuid()


def test_an_os_error_reading_credentials_is_a_refusal_not_a_crash() -> None:
    class Broken:
        def getsockopt(self, level: int, optname: int, buflen: int) -> bytes:
            raise OSError(22, "Invalid argument")

    with pytest.raises(PeerCredentialsError):
        peer_uid(Broken(), platform="darwin")  # type: ignore[arg-type]
