"""Process facts the tests read, on Linux (``/proc``) and on macOS (``/dev/fd``, ``lsof``, ``ps``).

The daemon's users run macOS; the suite must run there as well as here, so no test reads ``/proc`` directly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def open_fd_count() -> int:
    """How many file descriptors this process has open (``/dev/fd`` exists on Linux and macOS)."""
    return len(os.listdir("/dev/fd"))


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid``."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS line for pid {pid}")
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True).stdout
    return int(out.strip()) * 1024  # ps reports KiB on macOS and the BSDs


def listening_tcp_ports_of_this_process() -> set[int]:
    """Ports of TCP sockets in LISTEN state that belong to this process."""
    if sys.platform.startswith("linux"):
        return _linux_listening_ports()
    out = subprocess.run(
        ["lsof", "-nP", "-a", "-p", str(os.getpid()), "-iTCP", "-sTCP:LISTEN", "-Fn"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {int(m.group(1)) for m in re.finditer(r"^n.*:(\d+)$", out, re.MULTILINE)}


def _linux_listening_ports() -> set[int]:
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports
