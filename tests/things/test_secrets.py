"""The URL-scheme auth token never shows up in a repr, an exception, a result or a log."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence

import pytest

from tests.things.conftest import WritableThings
from tools.things.errors import ThingsError, WriteUnavailableError
from tools.things.openers import MacUrlOpener
from tools.things.reader import ThingsReader
from tools.things.secret import AuthToken
from tools.things.urlscheme import build_url


def test_auth_token_redacts_itself_and_refuses_pickling() -> None:
    token = AuthToken("s3cr3t-value")
    percent_formatted = "%s" % (token,)  # noqa: UP031 - %-formatting is one more path to check
    for shown in (repr(token), str(token), f"{token}", f"{token!r}", percent_formatted):
        assert "s3cr3t" not in shown
    with pytest.raises(TypeError):
        pickle.dumps(token)
    assert token.reveal() == "s3cr3t-value" and token.matches("s3cr3t-value") and not token.matches("x")


def test_the_token_never_appears_in_results_reprs_errors_or_logs(
    writable: WritableThings, caplog: pytest.LogCaptureFixture
) -> None:
    secret = writable.sample.auth_token.reveal()
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        todo_id = writable.sample.ids["Buy milk"]
        result = writable.service.update_todo(todo_id, title="Renamed", append_notes="more")
        seen += [repr(result), result.model_dump_json(), repr(writable.service), repr(writable.app)]
        seen += [repr(writable.app.errors), repr(writable.sample)]
        for bad in (lambda: writable.service.update_todo(todo_id, when="never"),
                    lambda: writable.service.update_todo("C" * 22, title="x")):  # fmt: skip
            with pytest.raises(ThingsError) as info:
                bad()
            seen += [str(info.value), repr(info.value), repr(info.value.args)]
        with writable.service.reader() as reader:
            seen.append(repr(reader.read_auth_token()))
    seen.append(caplog.text)
    assert result.status == "confirmed"
    assert all(secret not in text for text in seen)


def test_a_failing_opener_error_does_not_carry_the_url(writable: WritableThings) -> None:
    def broken(url: str) -> None:
        raise OSError(f"could not open {url}")

    writable.app.open = broken  # type: ignore[method-assign]
    with pytest.raises(WriteUnavailableError) as info:
        writable.service.update_todo(writable.sample.ids["Buy milk"], title="x")
    assert writable.sample.auth_token.reveal() not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert "auth-token" not in str(info.value)


class RecordingRunner:
    def __init__(self, status: int = 0) -> None:
        self.calls: list[tuple[list[str], bytes | None]] = []
        self.status = status

    def __call__(self, argv: Sequence[str], stdin: bytes | None) -> int:
        self.calls.append((list(argv), stdin))
        return self.status


def test_mac_opener_keeps_the_token_out_of_argv() -> None:
    runner = RecordingRunner()
    url = build_url("update", [("id", "A" * 22), ("auth-token", "tok-en_1"), ("title", 'say "hi" \\ now')])
    MacUrlOpener(runner).open(url)
    argv, stdin = runner.calls[0]
    assert argv == ["/usr/bin/osascript", "-"]
    assert stdin is not None and b"tok-en_1" in stdin and b'\\"' not in stdin


def test_mac_opener_uses_open_in_the_background_for_urls_without_a_token() -> None:
    runner = RecordingRunner()
    url = build_url("add", [("title", "Buy milk")])
    MacUrlOpener(runner).open(url)
    assert runner.calls == [(["/usr/bin/open", "-g", url], None)]


@pytest.mark.parametrize(
    "url", ['things:///add?title="; do shell script "x', "https://example.com/", "things:///add?title=a b"]
)
def test_mac_opener_refuses_urls_the_builder_could_not_have_made(url: str) -> None:
    runner = RecordingRunner()
    with pytest.raises(WriteUnavailableError):
        MacUrlOpener(runner).open(url)
    assert runner.calls == []


def test_mac_opener_turns_a_timeout_into_an_error_without_argv() -> None:
    import subprocess

    def timing_out(argv: Sequence[str], stdin: bytes | None) -> int:
        raise subprocess.TimeoutExpired(list(argv), 15)

    url = build_url("add", [("title", "secret plans")])
    with pytest.raises(WriteUnavailableError) as info:
        MacUrlOpener(timing_out).open(url)
    assert "secret" not in str(info.value) and info.value.__context__ is None


def test_mac_opener_reports_a_failed_handoff_without_the_url() -> None:
    url = build_url("update", [("id", "A" * 22), ("auth-token", "tok")])
    with pytest.raises(WriteUnavailableError) as info:
        MacUrlOpener(RecordingRunner(status=1)).open(url)
    assert "tok" not in str(info.value)


def test_reader_returns_none_when_things_has_no_token(writable: WritableThings) -> None:
    import sqlite3

    with sqlite3.connect(writable.sample.path) as conn:
        conn.execute("UPDATE TMSettings SET uriSchemeAuthenticationToken = NULL")
    conn.close()
    with writable.service.reader() as reader:
        assert isinstance(reader, ThingsReader) and reader.read_auth_token() is None
    with pytest.raises(WriteUnavailableError):
        writable.service.update_todo(writable.sample.ids["Buy milk"], title="x")
