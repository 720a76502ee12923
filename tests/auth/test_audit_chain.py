"""The HMAC-chained audit log: verification, tamper and truncation detection, torn writes, two writers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from auth.audit import AuditHead, AuditLog, verify_log

AUDIT_KEY = bytes(range(32))
ENTRIES = 4


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


def _fill(audit: AuditLog, count: int = ENTRIES) -> AuditHead:
    for index in range(count):
        audit.append("token.create", family_id=f"{index:032x}", scopes={"things:read": "allow"}, label="lab\u00e9l")
    return audit.head


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_chain_verifies(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    report = verify_log(log_path, AUDIT_KEY, head)
    assert report.ok, report.reason
    assert report.entries == ENTRIES
    assert report.unanchored_entries == 0
    entries = [json.loads(line) for line in _lines(log_path)]
    assert [e["seq"] for e in entries] == list(range(1, ENTRIES + 1))
    assert [e["prev"] for e in entries[1:]] == [e["mac"] for e in entries[:-1]]


def test_a_chain_with_a_different_key_fails(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    report = verify_log(log_path, bytes(32), head)
    assert not report.ok
    assert report.first_bad_line == 1


def test_changing_any_byte_fails_naming_its_line(audit: AuditLog, log_path: Path) -> None:
    """Every position, several replacements (a flipped bit, JSON whitespace, a case change)."""
    head = _fill(audit, 3)
    original = log_path.read_bytes()
    for position, byte in enumerate(original):
        line_number = original[:position].count(b"\n") + 1
        candidates = {byte ^ 0x01, ord(" "), ord("\t"), ord(bytes([byte]).swapcase())}
        candidates.discard(byte)
        for replacement in candidates:
            log_path.write_bytes(original[:position] + bytes([replacement]) + original[position + 1 :])
            report = verify_log(log_path, AUDIT_KEY, head)
            assert not report.ok, f"byte {position} ({bytes([byte])!r} -> {bytes([replacement])!r}) not detected"
            assert report.first_bad_line == line_number, f"byte {position}"


def test_removing_a_middle_line_fails(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    lines = _lines(log_path)
    for removed in range(1, ENTRIES - 1):
        log_path.write_bytes(b"".join(lines[:removed] + lines[removed + 1 :]))
        report = verify_log(log_path, AUDIT_KEY, head)
        assert not report.ok
        assert report.first_bad_line == removed + 1


def test_removing_the_last_line_fails_against_the_checkpoint(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    lines = _lines(log_path)
    for keep in range(ENTRIES):
        log_path.write_bytes(b"".join(lines[:keep]))
        report = verify_log(log_path, AUDIT_KEY, head)
        assert not report.ok
        assert report.first_bad_line == keep + 1


def test_truncating_mid_line_fails_against_the_checkpoint(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    original = log_path.read_bytes()
    last_start = original.rstrip(b"\n").rfind(b"\n") + 1
    for end in range(last_start, len(original)):
        log_path.write_bytes(original[:end])
        report = verify_log(log_path, AUDIT_KEY, head)
        assert not report.ok, f"truncated to {end} bytes"


def test_inserting_a_line_fails(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    lines = _lines(log_path)
    forged = AuditLog(log_path.with_name("forged.log"), AUDIT_KEY)
    try:
        forged.append("token.revoke", family_id="0" * 32)
    finally:
        forged.close()
    foreign_line = log_path.with_name("forged.log").read_bytes()
    for position in range(1, ENTRIES):
        for inserted in (lines[0], lines[position - 1], foreign_line):
            log_path.write_bytes(b"".join([*lines[:position], inserted, *lines[position:]]))
            report = verify_log(log_path, AUDIT_KEY, head)
            assert not report.ok
            assert report.first_bad_line == position + 1


def test_a_rewritten_log_of_the_same_length_fails_at_the_checkpoint(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    log_path.unlink()
    rewritten = AuditLog(log_path, AUDIT_KEY)
    try:
        _fill(rewritten)
    finally:
        rewritten.close()
    report = verify_log(log_path, AUDIT_KEY, head)
    assert not report.ok
    assert report.first_bad_line == ENTRIES


def test_entries_after_the_checkpoint_are_reported_as_unanchored(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    audit.append("decision", outcome="allow")
    report = verify_log(log_path, AUDIT_KEY, head)
    assert report.ok
    assert report.unanchored_entries == 1
    assert report.notes


def test_a_torn_last_line_is_noted_and_the_next_append_recovers_the_chain(audit: AuditLog, log_path: Path) -> None:
    head = _fill(audit)
    complete = _lines(log_path)[-1]
    with log_path.open("ab") as fh:
        fh.write(complete[: len(complete) // 2])  # a writer that died mid-line
    torn_report = verify_log(log_path, AUDIT_KEY, head)
    assert torn_report.ok, torn_report.reason
    assert torn_report.entries == ENTRIES
    assert torn_report.notes

    restarted = AuditLog(log_path, AUDIT_KEY)
    try:
        restarted.append("token.create", family_id="1" * 32)
        new_head = restarted.head
    finally:
        restarted.close()
    report = verify_log(log_path, AUDIT_KEY, new_head)
    assert report.ok, report.reason
    assert report.notes
    assert new_head.seq == ENTRIES + 2
    events = [json.loads(line)["event"] for line in _lines(log_path)[-2:]]
    assert events == ["audit_torn_line_recovered", "token.create"]


def test_two_writers_on_one_file_keep_one_chain(audit: AuditLog, log_path: Path) -> None:
    other = AuditLog(log_path, AUDIT_KEY)
    try:
        for index in range(6):
            (audit if index % 2 == 0 else other).append("step", index=index)
        other.append("step", index=6)
        other.append("step", index=7)
        audit.append("step", index=8)
        head = audit.head
    finally:
        other.close()
    report = verify_log(log_path, AUDIT_KEY, head)
    assert report.ok, report.reason
    assert report.entries == 9
    assert [json.loads(line)["index"] for line in _lines(log_path)] == list(range(9))


def test_the_audit_log_is_created_0600(audit: AuditLog, log_path: Path) -> None:
    _fill(audit, 1)
    assert log_path.stat().st_mode & 0o777 == 0o600
    assert log_path.parent.stat().st_mode & 0o777 == 0o700


def test_a_missing_log_with_a_checkpoint_fails(log_path: Path) -> None:
    report = verify_log(log_path, AUDIT_KEY, AuditHead(3, "0" * 64))
    assert not report.ok
    assert report.first_bad_line == 1


def test_agent_text_is_stored_neutralised(audit: AuditLog, log_path: Path) -> None:
    """A summary or any other field cannot carry a raw escape into the log a person may ``cat``."""
    audit.append("decision", summary="colour \x1b[31m\x9b2J\u202e", extra={"k\x07": ["\x1b]0;t\x07"]})
    text = log_path.read_text()
    assert "␛[31m\\x9b2J\\u202e" in text.replace("\\\\", "\\")
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e")
    assert b"\\u001b" not in log_path.read_bytes()


def test_a_change_that_decodes_to_the_same_json_value_is_detected(audit: AuditLog, log_path: Path) -> None:
    """The chain protects the bytes written, not only the decoded value (escapes, exponents, whitespace)."""
    audit.append("decision", summary='say "hi"', ratio=1e-05)
    head = audit.head
    original = log_path.read_bytes()
    assert b'\\"hi' in original and b"1e-05" in original
    for old, new in [(b'\\"hi', b"\\u0022hi"), (b"1e-05", b"1E-05"), (b',"mac"', b', "mac"')]:
        modified = original.replace(old, new, 1)
        assert modified != original
        log_path.write_bytes(modified)
        report = verify_log(log_path, AUDIT_KEY, head)
        assert not report.ok, new
        assert report.first_bad_line == 1


def test_a_crash_that_loses_only_the_newline_recovers_cleanly(audit: AuditLog, log_path: Path) -> None:
    """A last line cut just before its newline is torn; the next append records it and the chain verifies."""
    _fill(audit)
    log_path.write_bytes(log_path.read_bytes()[:-1])
    restarted = AuditLog(log_path, AUDIT_KEY)
    try:
        restarted.append("token.create", family_id="1" * 32)
        head = restarted.head
    finally:
        restarted.close()
    report = verify_log(log_path, AUDIT_KEY, head)
    assert report.ok, report.reason
    assert report.notes
    assert report.entries == head.seq == ENTRIES + 1
