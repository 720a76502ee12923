"""Private files and directories: 0700 directories, 0600 files, checked and repaired."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make sure it is 0700 and ours."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user (uid {st.st_uid}); refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
        log.warning("repaired permissions of %s to 0700", path)
    return path


def ensure_private_file(path: Path) -> None:
    """Make an existing file 0600 (repairing wider modes)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("repaired permissions of %s to 0600", path)


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, 0600 from the first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
