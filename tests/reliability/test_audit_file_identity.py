"""The audit log writes only to the file that *is* the log at its path, and only as the canonical encoding.

An open descriptor keeps writing to a file that was deleted, renamed away or replaced; those entries would
be lost to every reader. Each append checks the path under the file lock (cheaply: one ``stat``), and the
bytes it writes are the ones ``verify_log`` re-derives. Another process's appends (the CLI writes the same
file) are picked up from the size read under the lock.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auth.audit import AuditLog, verify_log
from auth.errors import AuditError
from auth.untrusted import neutralise, neutralise_data

AUDIT_KEY = bytes(range(32))


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.log"


@pytest.fixture
def audit(log_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(log_path, AUDIT_KEY)
    try:
        yield log
    finally:
        log.close()


def test_a_deleted_log_refuses_the_next_append(audit: AuditLog, log_path: Path) -> None:
    audit.append("step", index=0)
    log_path.unlink()
    with pytest.raises(AuditError):
        audit.append("step", index=1)
    assert not log_path.exists()


def test_a_log_renamed_away_refuses_the_next_append_and_is_left_as_it_was(audit: AuditLog, log_path: Path) -> None:
    audit.append("step", index=0)
    moved = log_path.with_name("moved.log")
    log_path.rename(moved)
    before = moved.read_bytes()
    with pytest.raises(AuditError):
        audit.append("step", index=1)
    assert moved.read_bytes() == before


def test_a_log_replaced_by_a_directory_refuses(audit: AuditLog, log_path: Path) -> None:
    audit.append("step", index=0)
    log_path.rename(log_path.with_name("old.log"))
    log_path.mkdir()
    with pytest.raises(AuditError):
        audit.append("step", index=1)


def test_a_restored_log_is_adopted_and_its_chain_continued(audit: AuditLog, log_path: Path) -> None:
    for index in range(3):
        audit.append("step", index=index)
    copy = log_path.with_name("copy.log")
    copy.write_bytes(log_path.read_bytes())
    log_path.unlink()
    with pytest.raises(AuditError):
        audit.append("step", index=99)
    copy.rename(log_path)  # the operator restores the file: a new inode at the same path
    audit.append("step", index=3)
    report = verify_log(log_path, AUDIT_KEY, audit.head)
    assert report.ok, report.reason
    assert [json.loads(line)["index"] for line in log_path.read_bytes().splitlines()] == [0, 1, 2, 3]


def _append_from_another_process(path: str, count: int) -> None:
    log = AuditLog(Path(path), AUDIT_KEY)
    try:
        for index in range(count):
            log.append("other", index=index)
    finally:
        log.close()


def test_appends_from_another_process_are_chained_in(audit: AuditLog, log_path: Path) -> None:
    audit.append("mine", index=0)
    child = multiprocessing.get_context("spawn").Process(target=_append_from_another_process, args=(str(log_path), 3))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    audit.append("mine", index=1)
    report = verify_log(log_path, AUDIT_KEY, audit.head)
    assert report.ok, report.reason
    assert report.entries == 5
    events = [json.loads(line)["event"] for line in log_path.read_bytes().splitlines()]
    assert events == ["mine", "other", "other", "other", "mine"]


@pytest.mark.parametrize(
    "value",
    ["plain", "caf\u00e9 \u2603 \U0001f600", 'quote " and \\ backslash', 0, -7, 2**70, 0.1, 1e-300, 12.5, True, None],
)
def test_lines_are_the_canonical_encoding_verify_re_derives(audit: AuditLog, log_path: Path, value: object) -> None:
    audit.append("step", value=value, nested={"b": [1, value], "a": value}, zeta=value, alpha="x")
    line = log_path.read_bytes().rstrip(b"\n")
    entry = json.loads(line)
    mac = entry.pop("mac")
    expected = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert line == expected[:-1] + b',"mac":"' + mac.encode() + b'"}'
    assert verify_log(log_path, AUDIT_KEY, audit.head).ok


def test_timestamps_are_utc_iso_with_microseconds(audit: AuditLog) -> None:
    before = datetime.now(UTC)
    stamp = audit.append("step")["ts"]
    after = datetime.now(UTC)
    assert len(stamp) == len("2026-01-01T00:00:00.000000+00:00") and stamp.endswith("+00:00")
    assert before <= datetime.fromisoformat(stamp) <= after


class _Fields(Mapping[str, object]):
    """A mapping that is not a dict (JSON cannot encode it as it is)."""

    def __init__(self, data: dict[str, object]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize(
    "text",
    [
        "esc \x1b[2J",
        "del \x7f",
        "c1 \x9b31m",
        "bidi \u202egnp.exe",
        "line sep \u2028",
        "zero width \u200b",
        "tab\tand newline\n",
        "a \\ backslash",
        "plain",
        "caf\u00e9",
    ],
)
def test_every_string_is_stored_neutralised_keys_and_nested_values_too(
    audit: AuditLog, log_path: Path, text: str
) -> None:
    fields = {
        "value": text,
        text: "as a key",
        "nested": {"list": [text, 1, None], text: (text, 2.5)},
    }
    entry = audit.append("step", **fields)
    stored = json.loads(log_path.read_bytes().splitlines()[-1])
    expected = json.loads(json.dumps(neutralise_data(fields)))  # what the generic walk makes of them
    for key, value in expected.items():
        assert stored[key] == value
        assert json.loads(json.dumps(entry[key])) == value
    assert verify_log(log_path, AUDIT_KEY, audit.head).ok


def test_a_mapping_json_cannot_encode_is_stored_as_an_object_neutralised(audit: AuditLog, log_path: Path) -> None:
    audit.append("step", mapping=_Fields({"inner": "esc \x1b[2J", "ok": 1}))
    stored = json.loads(log_path.read_bytes().splitlines()[-1])
    assert stored["mapping"] == {"inner": neutralise("esc \x1b[2J"), "ok": 1}
    assert "\x1b" not in stored["mapping"]["inner"]
    assert verify_log(log_path, AUDIT_KEY, audit.head).ok
