"""Things and GPG inputs crafted to inject are refused before any subprocess runs.

The seams are given doubles that fail the test if they are called at all: a ``UrlOpener`` for Things
writes, the ``Runner`` of ``MacUrlOpener`` (the only code that starts ``open``/``osascript``), and a gpg
runner for the GPG service. Where an input is legitimately accepted (a title containing ``&auth-token=``),
the URL handed on must carry it percent-encoded, never as an extra parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tools.gpg.errors import GpgError, InvalidRequestError
from tools.gpg.policy import GpgPolicy
from tools.gpg.service import GpgService
from tools.things.database import ThingsDatabase
from tools.things.errors import InvalidArgumentError, NotFoundError, ThingsError, WriteUnavailableError
from tools.things.openers import MacUrlOpener
from tools.things.ratelimit import ItemRateLimiter
from tools.things.sample import generate
from tools.things.service import ThingsService
from tools.things.writes import ThingsWriter

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2025, 6, 15)
FINGERPRINT = "A" * 40


class ForbiddenOpener:
    """A UrlOpener that records URLs; with ``forbid`` set, any call fails the test."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.forbid = True

    def open(self, url: str) -> None:
        if self.forbid:
            raise AssertionError(f"a Things URL was opened for hostile input: {url[:200]}")
        self.urls.append(url)


def forbidden_runner(argv: Sequence[str], stdin: bytes | None) -> int:
    raise AssertionError(f"a subprocess was started: {list(argv)[:3]}")


class ForbiddenGpg:
    """A gpg runner that fails the test when run; listing keys (argv without user input) may be allowed."""

    def __init__(self) -> None:
        self.listing_allowed = False

    def list_secret_keys(self) -> list[Any]:
        if not self.listing_allowed:
            raise AssertionError("gpg was run (--list-secret-keys) for hostile input")
        return []

    def sign_detached(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("gpg was run (--detach-sign) for hostile input")

    def verify_detached(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("gpg was run (--verify) for hostile input")


@pytest.fixture
def things(tmp_path: Path) -> tuple[ThingsService, ForbiddenOpener]:
    sample = generate(tmp_path / "things.sqlite", todos=30, today=TODAY, seed=4)
    opener = ForbiddenOpener()
    now = datetime.combine(TODAY, time(12), BERLIN).astimezone(UTC)
    writer = ThingsWriter(opener, ItemRateLimiter(lambda: 0.0), sleep=lambda _s: None, confirm_attempts=1)
    return ThingsService(ThingsDatabase(sample.path).connect, writer, lambda: now, BERLIN), opener


HOSTILE_TITLES = [
    "",
    "a\x00b",
    "line\nbreak",
    "cr\rreturn",
    "esc\x1b[2J",
    "x" * 100_000,
    "\u2028separator",
]
HOSTILE_IDS = [
    "",
    "../../etc",
    "abc&auth-token=x",
    "abc\x00",
    "' OR 1=1 --",
    "A" * 10_000,
    "id?x=1",
    'abc"; do shell script "id',
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_are_refused_before_a_things_url_is_opened(
    things: tuple[ThingsService, ForbiddenOpener], title: str
) -> None:
    service, _opener = things
    with pytest.raises(InvalidArgumentError):
        service.add_todo(title=title)
    with pytest.raises(InvalidArgumentError):
        service.add_project(title=title)


@pytest.mark.parametrize("item_id", HOSTILE_IDS)
def test_hostile_ids_are_refused_before_a_things_url_is_opened(
    things: tuple[ThingsService, ForbiddenOpener], item_id: str
) -> None:
    service, _opener = things
    with pytest.raises((InvalidArgumentError, NotFoundError)):
        service.update_todo(item_id, title="fine")
    with pytest.raises((InvalidArgumentError, NotFoundError)):
        service.add_todo(title="fine", project_id=item_id)
    with pytest.raises((InvalidArgumentError, NotFoundError)):
        service.get_todo(item_id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tags", ["ok", "bad\x00"]),
        ("tags", ["a,b"]),
        ("checklist", ["x\ny"]),
        ("when", "today&x=1"),
        ("deadline", "2025-13-45"),
        ("deadline", "2025-06-15\x00"),
        ("notes", "n\x00"),
    ],
)
def test_hostile_fields_are_refused_before_a_things_url_is_opened(
    things: tuple[ThingsService, ForbiddenOpener], field: str, value: Any
) -> None:
    service, _opener = things
    with pytest.raises(ThingsError):
        service.add_todo(title="fine", **{field: value})


def test_url_syntax_inside_an_accepted_title_is_encoded_not_injected(
    things: tuple[ThingsService, ForbiddenOpener],
) -> None:
    service, opener = things
    opener.forbid = False
    title = "buy milk&auth-token=stolen&reveal=true#x?y=z"
    service.add_todo(title=title, notes='say "hi" \\ and & more')
    assert len(opener.urls) == 1
    parts = urlsplit(opener.urls[0])
    params = parse_qsl(parts.query, keep_blank_values=True)
    assert [name for name, _ in params] == ["title", "notes"]
    assert dict(params)["title"] == title
    assert not parts.fragment


@pytest.mark.parametrize(
    "url",
    [
        'things:///add?title=a"&x=1',
        "things:///add?title=a\\",
        "things:///add?title=a\x00",
        "things:///add?title=a\n",
        'things:///update?auth-token=x" & do shell script "id" & "',
        "file:///etc/passwd",
        "things:///add?title=a b",
        "-g",
        "--args",
    ],
)
def test_the_mac_opener_refuses_a_url_the_builder_could_not_have_made(url: str) -> None:
    with pytest.raises(WriteUnavailableError):
        MacUrlOpener(forbidden_runner).open(url)


HOSTILE_KEYS = [
    "--output=/tmp/stolen",
    "-u",
    "--homedir /tmp",
    "--status-fd=1",
    "0xDEADBEEF\x00--batch",
    FINGERPRINT + "\n--edit-key",
    "",
    " ",
]
# Key names that are not option-shaped: they never reach gpg's argv (the policy resolves them in Python
# against the listed keys and signs with the resolved fingerprint), so listing may run, signing may not.
UNLISTED_KEYS = ["*", "<user@example.com>", "DEADBEEF", "user@example.com --output x", FINGERPRINT.lower()[:-1] + "b"]
COMMIT = b"tree " + b"0" * 40 + b"\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nmsg\n"
HOSTILE_PAYLOADS = [
    b"",
    b"not a git object",
    b"tree " + b"0" * 40 + b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n x\n -----END PGP SIGNATURE-----\n\nmsg\n",
    COMMIT.replace(b"\n\nmsg", b"\ngpgsig-sha256 x\n\nmsg"),
    COMMIT.replace(b"msg", b"-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----"),
    b"tree \x00" + b"0" * 39 + b"\n\nmsg\n",
    b"A" * (10 * 1024 * 1024),
]


@pytest.fixture
def gpg_runner() -> ForbiddenGpg:
    return ForbiddenGpg()


@pytest.fixture
def gpg(gpg_runner: ForbiddenGpg) -> GpgService:
    return GpgService(gpg_runner, GpgPolicy([FINGERPRINT]))


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_option_shaped_or_malformed_gpg_keys_are_refused_before_gpg_runs(gpg: GpgService, key: str) -> None:
    with pytest.raises(InvalidRequestError):
        gpg.prepare_sign(key, COMMIT)


@pytest.mark.parametrize("key", UNLISTED_KEYS)
def test_keys_outside_the_allowlist_never_reach_a_signing_gpg(
    gpg: GpgService, gpg_runner: ForbiddenGpg, key: str
) -> None:
    gpg_runner.listing_allowed = True
    with pytest.raises(GpgError):
        gpg.sign(key, COMMIT)


@pytest.mark.parametrize("payload", HOSTILE_PAYLOADS, ids=lambda p: repr(p[:24]))
def test_payloads_that_are_not_an_unsigned_git_object_are_refused_before_gpg_runs(
    gpg: GpgService, payload: bytes
) -> None:
    with pytest.raises(GpgError):
        gpg.prepare_sign(FINGERPRINT, payload)
