"""The audit log: append-only JSON Lines, HMAC-chained, with a checkpointed head.

Each line is a JSON object with ``seq``, ``ts``, ``event``, event fields, ``prev`` (the previous line's
MAC) and ``mac`` = HMAC-SHA256(audit key, canonical JSON of the line without ``mac``). Modifying, deleting
or inserting a line breaks the chain. Truncating the tail is caught by the checkpoint: the sequence
number and MAC of the newest line are recorded in the token store (``audit_head``) after each token
operation and periodically for decisions, so a log shorter than its checkpoint fails verification.
Lines written after the last checkpoint are chained but reported as "not yet checkpointed".

Never put a token, key or passphrase in an entry: callers pass ids, scopes, outcomes and summaries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from auth.errors import AuditError
from auth.fsutil import ensure_private_dir, ensure_private_file
from auth.untrusted import neutralise_data

GENESIS = "0" * 64


# One encoder, built once: ``json.dumps`` with keyword options builds a new encoder on every call, which
# costs more than the encoding of a record itself. The output is byte-identical to
# ``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, which
# :func:`verify_log` re-derives; the encoder is the standard library's C one where it exists.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _make_encode() -> Callable[[Any], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    # ``JSONEncoder.iterencode``'s arguments without the cycle check: entries are fresh neutralised copies.
    encode_parts = make(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    return lambda entry: "".join(encode_parts(entry, 0))


_encode = _make_encode()


def _canonical(entry: Mapping[str, Any]) -> bytes:
    return _encode(entry).encode()


def _mac_prototype(key: bytes) -> Any:
    """A keyed HMAC-SHA256 to ``copy()`` per entry (cheaper than keying a new one each time)."""
    return hmac.new(key, digestmod=sha256)


def _seal(prototype: Any, body: bytes) -> tuple[bytes, str]:
    """The line for an entry whose canonical JSON is ``body`` (without its newline), and its MAC.

    The MAC covers the canonical JSON of the entry without ``mac``; the line is that same JSON with
    ``"mac"`` appended last, so writing an entry serialises it once.
    """
    mac = prototype.copy()
    mac.update(body)
    digest: str = mac.hexdigest()
    return body[:-1] + b',"mac":"' + digest.encode("ascii") + b'"}', digest


class _UtcClock:
    """``datetime.now(UTC).isoformat(timespec="microseconds")``, formatting the date and time of day once
    per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        micros = time.time_ns() // 1000
        second, fraction = divmod(micros, 1_000_000)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{fraction:06d}+00:00"


def _plain(text: str) -> bool:
    """True when ``text``, a JSON encoding, shows every string in it verbatim and each is printable ASCII.

    The encoder escapes only ``"``, ``\\`` and controls below U+0020, each with a backslash; so an encoding
    with no backslash, all printable ASCII, holds only strings :func:`neutralise` leaves unchanged, keys
    and nested values included. Then neutralising the entry first would change nothing.
    """
    return text.isascii() and text.isprintable() and "\\" not in text


@dataclass(frozen=True)
class AuditHead:
    seq: int
    mac: str

    def to_text(self) -> str:
        return f"{self.seq}:{self.mac}"

    @classmethod
    def from_text(cls, text: str) -> AuditHead:
        seq, _, mac = text.partition(":")
        return cls(int(seq), mac)


class AuditLog:
    """Appends chained entries to one file. Safe across threads and (via flock) across processes.

    The daemon is not the only writer: CLI commands that change tokens append to the same file from their
    own process. So every append takes the file's ``flock``, and reads the file's size under it to notice
    another writer's lines (and reload the chain head from them).
    """

    def __init__(self, path: Path, key: bytes, *, fsync: bool = False) -> None:
        self.path = path
        self._path = os.fspath(path)
        self._key = key
        self._mac = _mac_prototype(key)
        self._clock = _UtcClock()
        self._fsync = fsync
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        ensure_private_dir(path.parent)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        ensure_private_file(path)
        self._identity = self._file_identity(os.fstat(self._fd))
        self._known_size = -1
        self._torn = False
        self._seq, self._last_mac = 0, GENESIS

    def __repr__(self) -> str:
        return f"AuditLog(path={str(self.path)!r})"

    @property
    def head(self) -> AuditHead:
        return AuditHead(self._seq, self._last_mac)

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _reload_head(self) -> None:
        """Read the newest complete line's seq and MAC (another process may have appended)."""
        head = AuditHead(0, GENESIS)
        with open(self.path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            span = 65536
            while True:
                start = max(0, size - span)
                fh.seek(start)
                block = fh.read(size - start)
                lines = block.split(b"\n")[:-1]  # the last piece is empty or torn
                if start > 0:
                    lines = lines[1:]  # the first piece may be a partial line
                lines = [ln for ln in lines if ln.strip()]
                if lines or start == 0:
                    break
                span *= 4
        for raw in reversed(lines):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                last = json.loads(raw)
                head = AuditHead(int(last["seq"]), str(last["mac"]))
                break
        self._seq, self._last_mac = head.seq, head.mac
        self._known_size = size
        self._torn = size > 0 and not block.endswith(b"\n")

    @staticmethod
    def _file_identity(st: os.stat_result) -> tuple[int, int]:
        return st.st_dev, st.st_ino

    def _lock_current_file(self) -> int:
        """Take the flock of the file that *is* the audit log at ``path`` now; return its size.

        An open descriptor keeps writing to a file that was deleted, renamed away or replaced (by a
        directory, a read-only mount, …), and those entries would be lost to every reader. So each append
        checks, under the lock, that ``path`` still names the open file (one ``stat``, whose size is then
        the file's size: every writer appends under this lock); if another regular file took its place
        (restored by the operator) it is adopted and its chain head reloaded; anything else raises
        ``OSError`` and the operation is refused.
        """
        while True:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                current = os.stat(self._path)
            except OSError:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                raise
            if (current.st_dev, current.st_ino) == self._identity:
                return current.st_size
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._adopt_path()

    def _adopt_path(self) -> None:
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND)
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "the audit log path is no longer a regular file")
        os.close(self._fd)
        self._fd, self._identity, self._known_size = fd, self._file_identity(opened), -1

    def _write_entry(self, event: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        seq, stamp, prev = self._seq + 1, self._clock.now(), self._last_mac
        entry: dict[str, Any] = {"seq": seq, "ts": stamp, "event": event, **fields, "prev": prev}
        try:
            text: str | None = _encode(entry)
        except TypeError:
            text = None  # e.g. a mapping that is not a dict: neutralising turns it into one
        if text is None or not _plain(text):
            entry = {"seq": seq, "ts": stamp, "event": event, **neutralise_data(fields), "prev": prev}
            text = _encode(entry)
        sealed, entry["mac"] = _seal(self._mac, text.encode())
        line = sealed + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):
            raise OSError(f"short write to the audit log ({written} of {len(line)} bytes)")
        self._known_size += len(line)
        self._seq, self._last_mac = seq, entry["mac"]
        return entry

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one entry and return it (with ``seq`` and ``mac``); text in it is stored neutralised."""
        return self.append_fields(event, fields)

    def append_fields(self, event: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`append` with the fields as one mapping (text in it is stored neutralised).

        Returns once the line is written (``os.write`` returned; with ``fsync`` also flushed to disk): a
        caller may then let the recorded operation take effect. Raises :class:`AuditError` otherwise.
        """
        with self._lock:
            try:
                size = self._lock_current_file()
                try:
                    if size != self._known_size:
                        self._reload_head()
                    if self._torn:
                        # A writer died mid-line. Terminate the torn line and say so in the chain, so
                        # verification reports it instead of silently rolling over it.
                        os.write(self._fd, b"\n")
                        self._known_size += 1
                        self._write_entry("audit_torn_line_recovered", {})
                        self._torn = False
                    entry = self._write_entry(event, fields)
                    if self._fsync:
                        os.fsync(self._fd)
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise AuditError(
                    f"cannot write the audit log {self.path}: {exc.strerror or exc}; operation refused"
                ) from None
        if self._listeners:
            for listener in list(self._listeners):
                with contextlib.suppress(Exception):  # a listener must never break auditing
                    listener(entry)
        return entry

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    checkpoint: AuditHead | None
    first_bad_line: int | None = None
    reason: str | None = None
    unanchored_entries: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoint_seq": self.checkpoint.seq if self.checkpoint else None,
            "first_bad_line": self.first_bad_line,
            "reason": self.reason,
            "unanchored_entries": self.unanchored_entries,
            "notes": self.notes,
        }


def verify_log(path: Path, key: bytes, checkpoint: AuditHead | None) -> VerifyReport:
    """Check the chain line by line and against the checkpointed head."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    lines = data.split(b"\n")
    torn = lines[-1] != b""
    body = lines if torn else lines[:-1]
    prev = GENESIS
    seq = 0
    notes: list[str] = []
    prototype = _mac_prototype(key)
    for number, raw in enumerate(body, start=1):
        is_last = number == len(body)
        # A torn write is judged by what the writer did next, not by whether its bytes happen to parse: a
        # line cut just before its newline is complete JSON, yet the writer treated it as torn.
        if not is_last and _is_recovery(body[number], prev):
            notes.append(f"line {number} is a torn write (a crash mid-line), recorded by the next entry")
            continue
        if is_last and torn:
            break  # an unterminated last line is never counted (see the note below)
        try:
            entry = json.loads(raw)
            mac = entry.pop("mac")
        except (ValueError, KeyError, TypeError, AttributeError):
            return VerifyReport(False, number - 1, checkpoint, number, "unparseable line", notes=notes)
        if entry.get("prev") != prev or entry.get("seq") != seq + 1:
            return VerifyReport(False, number - 1, checkpoint, number, "chain broken (line removed or inserted)")
        expected_line, expected_mac = _seal(prototype, _canonical(entry))
        if not hmac.compare_digest(expected_mac, str(mac)):
            return VerifyReport(False, number - 1, checkpoint, number, "MAC mismatch (line modified)")
        # The MAC covers the parsed value; also require the exact bytes the writer produced, so a change
        # that decodes to the same value (an escape's case, an exponent's case, added whitespace) is caught.
        if raw != expected_line:
            return VerifyReport(False, number - 1, checkpoint, number, "line modified (not as written)")
        prev, seq = str(mac), int(entry["seq"])
    if torn:
        notes.append(f"line {len(body)} is torn (the writer stopped mid-line); it is not counted")
    report = VerifyReport(True, seq, checkpoint, notes=notes)
    if checkpoint is not None and checkpoint.seq > 0:
        if seq < checkpoint.seq:
            report.ok = False
            report.first_bad_line = seq + 1
            report.reason = f"log truncated: the checkpoint records {checkpoint.seq} entries, the file has {seq}"
            return report
        anchored_mac = _mac_of_seq(body, checkpoint.seq)
        if anchored_mac != checkpoint.mac:
            report.ok = False
            report.first_bad_line = checkpoint.seq
            report.reason = "log rewritten: the entry at the checkpoint does not match the recorded MAC"
            return report
        report.unanchored_entries = seq - checkpoint.seq
        if report.unanchored_entries:
            report.notes.append(f"{report.unanchored_entries} newest entries are chained but not yet checkpointed")
    elif seq > 0:
        report.notes.append("no checkpoint recorded in the token store; tail truncation cannot be ruled out")
    return report


def _is_recovery(raw: bytes, prev: str) -> bool:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        entry = json.loads(raw)
        return bool(entry.get("event") == "audit_torn_line_recovered" and entry.get("prev") == prev)
    return False


def _mac_of_seq(body: list[bytes], seq: int) -> str | None:
    for raw in body:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            entry = json.loads(raw)
            if entry.get("seq") == seq:
                return str(entry.get("mac"))
    return None
