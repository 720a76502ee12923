"""The URL-scheme auth token never shows up in a repr, an exception, a result or a log."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import subprocess
from collections.abc import Sequence

import pytest

from tests.things.conftest import WritableThings
from tools.things.errors import ThingsError, WriteUnavailableError
from tools.things.openers import MacUrlOpener, background_open_script
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


@pytest.mark.parametrize("command", ["update", "add"])
def test_mac_opener_keeps_the_request_out_of_argv_and_opens_things_in_the_background(command: str) -> None:
    """Before: ``update`` went through ``open location`` (activates Things, steals focus) and ``add`` put the
    whole URL — titles, notes — into ``open -g``'s argv, visible to every local user."""
    runner = RecordingRunner()
    params = [("title", 'say "hi" \\ now')]
    if command == "update":
        params = [("id", "A" * 22), ("auth-token", "tok-en_1"), *params, ("append-notes", "private notes")]
    else:
        params.append(("notes", "private notes"))
    url = build_url(command, params)  # type: ignore[arg-type]
    MacUrlOpener(runner).open(url)
    argv, stdin = runner.calls[0]
    assert argv == ["/usr/bin/osascript", "-l", "JavaScript", "-"]
    assert stdin is not None and url.encode() in stdin
    assert b"open location" not in stdin and b"activate" not in stdin
    assert b"com.culturedcode.ThingsMac" in stdin and b", 512, null, null)" in stdin


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the JXA script (.ci/run installs it)")
def test_the_jxa_script_asks_nsworkspace_to_open_exactly_the_url_without_activation() -> None:
    """Run the very script macOS would run under a JavaScript engine, with AppKit replaced by a recorder."""
    url = build_url("update", [("id", "A" * 22), ("auth-token", "tok"), ("title", "x")])
    harness = """
const calls = [];
globalThis.ObjC = { import: (name) => calls.push(["import", name]) };
globalThis.$ = {
  NSURL: { URLWithString: (s) => ({ url: s }) },
  NSArray: { arrayWithObject: (o) => [o] },
  NSWorkspace: { sharedWorkspace: {
    openURLsWithAppBundleIdentifierOptionsAdditionalEventParamDescriptorLaunchIdentifiers:
      (urls, bundle, options, descriptor, ids) => {
        calls.push(["open", urls, bundle, options, descriptor, ids]);
        return true;
      },
  } },
};
const script = require("fs").readFileSync(0, "utf8");
(0, eval)(script);
run();
process.stdout.write(JSON.stringify(calls));
"""
    done = subprocess.run(
        ["node", "-e", harness], input=background_open_script(url), capture_output=True, timeout=30, check=True
    )
    calls = json.loads(done.stdout)
    assert calls == [["import", "AppKit"], ["open", [{"url": url}], "com.culturedcode.ThingsMac", 0x200, None, None]]


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
