"""The audit log as its writer and its reader see it: what each entry holds, what a verification reports for
each kind of damage, a log replaced under the daemon, other writers' lines, subscribers (real files)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import auth.audit
from auth.audit import GENESIS, AuditHead, AuditLog, verify_log
from auth.errors import AuditError

KEY = bytes(range(32))


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.log"


@pytest.fixture
def audit(log_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(log_path, KEY)
    yield log
    log.close()


def entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def fill(audit: AuditLog, count: int) -> AuditHead:
    for n in range(count):
        audit.append("token.create", family_id=f"{n:032x}")
    return audit.head


def test_each_entry_is_stamped_with_the_utc_time_of_its_write_to_the_microsecond(
    audit: AuditLog, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = 1_800_000_000_250_000_123  # ns
    times = [start, start + 1_200_000_000, start + 1_300_000_000, start + 3_600_000_000_000]
    clock = iter(times)
    monkeypatch.setattr(auth.audit.time, "time_ns", lambda: next(clock))
    for _ in times:
        audit.append("tick")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [(epoch + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds") for ns in times]
    assert [e["ts"] for e in entries(log_path)] == expected
    assert expected[0] == "2027-01-15T08:00:00.250000+00:00"


def test_subscribers_hear_each_entry_as_written_and_a_broken_one_changes_nothing(
    audit: AuditLog, log_path: Path
) -> None:
    heard: list[dict[str, Any]] = []

    def broken(entry: dict[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    audit.subscribe(broken)
    unsubscribe = audit.subscribe(heard.append)
    audit.append("first", n=1)
    unsubscribe()
    audit.append("second", n=2)
    assert heard == entries(log_path)[:1]
    assert heard[0]["event"] == "first" and heard[0]["mac"]
    assert verify_log(log_path, KEY, audit.head).ok


def test_with_fsync_each_entry_is_written_and_verifies(log_path: Path) -> None:
    log = AuditLog(log_path, KEY, fsync=True)
    try:
        head = fill(log, 2)
    finally:
        log.close()
    assert verify_log(log_path, KEY, head).ok


def test_agent_text_in_plain_ascii_still_carries_no_control_character(audit: AuditLog, log_path: Path) -> None:
    audit.append("decision", summary="ok \x1b[2J", detail='say "hi"', tab="a\tb")
    raw = log_path.read_bytes()
    assert b"\\u001b" not in raw and b"\x1b" not in raw and b"\\t" not in raw
    (entry,) = entries(log_path)
    assert set(entry) == {"seq", "ts", "event", "summary", "detail", "tab", "prev", "mac"}
    assert entry["summary"] == "ok ␛[2J" and entry["detail"] == 'say "hi"'
    assert (entry["seq"], entry["event"], entry["prev"]) == (1, "decision", GENESIS)
    assert entry["ts"].endswith("+00:00")
    assert verify_log(log_path, KEY, audit.head).ok


def test_a_mapping_that_is_not_a_dict_is_stored_as_an_object(audit: AuditLog, log_path: Path) -> None:
    audit.append("decision", scopes=MappingProxyType({"things:read": "allow"}))
    (entry,) = entries(log_path)
    assert entry["scopes"] == {"things:read": "allow"}
    assert (entry["seq"], entry["event"]) == (1, "decision") and entry["ts"].endswith("+00:00")
    assert verify_log(log_path, KEY, audit.head).ok


def test_a_log_moved_away_and_replaced_by_a_new_file_is_adopted(audit: AuditLog, log_path: Path) -> None:
    """The operator rotated the log: new entries go to the file now at the path, starting a new chain."""
    old_head = fill(audit, 2)
    rotated = log_path.with_name("audit.log.1")
    log_path.rename(rotated)
    log_path.touch(mode=0o600)
    audit.append("after.rotation")
    assert [(e["seq"], e["event"], e["prev"]) for e in entries(log_path)] == [(1, "after.rotation", GENESIS)]
    assert verify_log(log_path, KEY, audit.head).ok
    assert verify_log(rotated, KEY, old_head).ok and len(entries(rotated)) == 2


def test_a_log_path_that_is_no_longer_a_file_refuses_every_write_until_a_file_is_back(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 1)
    log_path.rename(log_path.with_name("audit.log.1"))
    log_path.mkdir()
    with pytest.raises(AuditError) as excinfo:
        audit.append("lost")
    assert excinfo.value.code == "audit_error"
    log_path.rmdir()
    with pytest.raises(AuditError):
        audit.append("lost")  # no file at all: refused too
    log_path.touch(mode=0o600)
    audit.append("back")
    assert [e["event"] for e in entries(log_path)] == ["back"]


@pytest.mark.parametrize(
    ("foreign", "reason"),
    [
        (b"not json at all", "unparseable line"),
        (b'{"event": "no seq"}', "unparseable line"),
        (b'{"seq": [], "mac": "x"}', "chain broken (line removed or inserted)"),
        (b"[1, 2]", "unparseable line"),
    ],
)
def test_a_foreign_line_does_not_stop_auditing_and_verification_points_at_it(
    audit: AuditLog, log_path: Path, foreign: bytes, reason: str
) -> None:
    fill(audit, 2)
    with log_path.open("ab") as fh:
        fh.write(foreign + b"\n")
    entry = audit.append("after")
    assert entry["seq"] == 3  # the chain continues from the last entry it can read
    report = verify_log(log_path, KEY, None)
    assert report.to_json() == {
        "ok": False,
        "entries": 2,
        "checkpoint_seq": None,
        "first_bad_line": 3,
        "reason": reason,
        "unanchored_entries": 0,
        "notes": [],
    }


def test_another_writers_entry_longer_than_the_tail_read_is_found(log_path: Path) -> None:
    first, second = AuditLog(log_path, KEY), AuditLog(log_path, KEY)
    try:
        first.append("small")
        second.append("large", summary="x" * 300_000)
        first.append("after")
        head = first.head
    finally:
        first.close()
        second.close()
    assert [e["seq"] for e in entries(log_path)] == [1, 2, 3]
    assert verify_log(log_path, KEY, head).ok


def test_a_log_of_one_torn_byte_is_recovered_once(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b"{")
    log = AuditLog(log_path, KEY)
    try:
        log.append("first")
        log.append("second")
        head = log.head
    finally:
        log.close()
    lines = log_path.read_bytes().splitlines()
    assert lines[0] == b"{"
    assert [json.loads(line)["event"] for line in lines[1:]] == ["audit_torn_line_recovered", "first", "second"]
    report = verify_log(log_path, KEY, head)
    assert report.ok and report.entries == 3


def _damage(path: Path, kind: str) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    if kind == "unparseable":
        lines[1] = b"{oops\n"
    elif kind == "removed":
        del lines[1]
    elif kind == "modified":
        lines[1] = lines[1].replace(b"token.create", b"token.delete")
    elif kind == "respelled":
        lines[1] = lines[1].replace(b'"seq":2', b'"seq": 2')
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("unparseable", "unparseable line"),
        ("removed", "chain broken (line removed or inserted)"),
        ("modified", "MAC mismatch (line modified)"),
        ("respelled", "line modified (not as written)"),
    ],
)
def test_verification_reports_the_first_damaged_line_and_what_is_wrong_with_it(
    audit: AuditLog, log_path: Path, kind: str, reason: str
) -> None:
    head = fill(audit, 4)
    _damage(log_path, kind)
    assert verify_log(log_path, KEY, head).to_json() == {
        "ok": False,
        "entries": 1,
        "checkpoint_seq": 4,
        "first_bad_line": 2,
        "reason": reason,
        "unanchored_entries": 0,
        "notes": [],
    }


def test_verification_against_the_checkpoint_reports_truncation_and_rewriting(audit: AuditLog, log_path: Path) -> None:
    head = fill(audit, 3)
    original = log_path.read_bytes()
    log_path.write_bytes(b"".join(original.splitlines(keepends=True)[:2]))
    assert verify_log(log_path, KEY, head).to_json() == {
        "ok": False,
        "entries": 2,
        "checkpoint_seq": 3,
        "first_bad_line": 3,
        "reason": "log truncated: the checkpoint records 3 entries, the file has 2",
        "unanchored_entries": 0,
        "notes": [],
    }
    log_path.write_bytes(original)
    rewritten = verify_log(log_path, KEY, AuditHead(2, "f" * 64))
    assert (rewritten.ok, rewritten.first_bad_line, rewritten.checkpoint) == (False, 2, AuditHead(2, "f" * 64))
    assert rewritten.reason == "log rewritten: the entry at the checkpoint does not match the recorded MAC"


def test_verification_notes_what_it_cannot_rule_out(audit: AuditLog, log_path: Path) -> None:
    assert verify_log(log_path, KEY, None).to_json()["notes"] == []  # an empty log: nothing to say
    head = fill(audit, 1)
    assert verify_log(log_path, KEY, None).to_json() == {
        "ok": True,
        "entries": 1,
        "checkpoint_seq": None,
        "first_bad_line": None,
        "reason": None,
        "unanchored_entries": 0,
        "notes": ["no checkpoint recorded in the token store; tail truncation cannot be ruled out"],
    }
    fill(audit, 2)
    report = verify_log(log_path, KEY, head)
    assert (report.ok, report.entries, report.unanchored_entries, report.checkpoint) == (True, 3, 2, head)
    assert report.notes == ["2 newest entries are chained but not yet checkpointed"]
    # A checkpoint of nothing anchors nothing: the log is judged as if none were recorded.
    unanchored = verify_log(log_path, KEY, AuditHead(0, GENESIS))
    assert (unanchored.ok, unanchored.notes) == (True, [verify_log(log_path, KEY, None).notes[0]])


def test_a_torn_line_in_the_middle_and_a_torn_last_line_are_noted_not_counted(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b'{"seq":1')
    log = AuditLog(log_path, KEY)
    try:
        log.append("kept")
        head = log.head
    finally:
        log.close()
    with log_path.open("ab") as fh:
        fh.write(b'{"seq":3,"ev')
    report = verify_log(log_path, KEY, head)
    assert (report.ok, report.entries, report.first_bad_line) == (True, 2, None)
    assert report.notes == [
        "line 1 is a torn write (a crash mid-line), recorded by the next entry",
        "line 4 is torn (the writer stopped mid-line); it is not counted",
    ]


def test_the_log_and_its_head_describe_themselves_without_secrets(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 1)
    assert repr(audit) == f"AuditLog(path={str(log_path)!r})"
    assert KEY.hex() not in repr(audit)
    head = audit.head
    assert AuditHead.from_text(head.to_text()) == head
    assert os.stat(log_path).st_mode & 0o777 == 0o600


def test_a_line_spliced_in_from_another_log_with_the_same_key_is_detected(tmp_path: Path) -> None:
    """A rotated log holds validly signed lines with the same sequence numbers; one put in place of the
    current log's line breaks the chain, even though its MAC and its number are right."""
    current, rotated = tmp_path / "audit.log", tmp_path / "audit.log.1"
    for path, event in [(rotated, "old"), (current, "new")]:
        log = AuditLog(path, KEY)
        try:
            fill(log, 3)
            log.append(event)
        finally:
            log.close()
    lines, foreign = current.read_bytes().splitlines(keepends=True), rotated.read_bytes().splitlines(keepends=True)
    lines[1] = foreign[1]  # seq 2, signed with the same key, but chained to the other log's line 1
    current.write_bytes(b"".join(lines))
    report = verify_log(current, KEY, None)
    assert (report.ok, report.first_bad_line, report.reason) == (False, 2, "chain broken (line removed or inserted)")
