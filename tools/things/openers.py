"""Handing a ``things:///`` URL to the Things app.

``UrlOpener`` is the seam; ``MacUrlOpener`` is the macOS implementation, and
``tools.things.double.SampleDatabaseThingsApp`` stands in for Things on Linux.

Keeping the auth token out of argv: arguments of a running process are visible to every local user
(``ps``). URLs without a token (``add``, ``add-project``) go through ``open -g URL`` (``-g`` keeps
Things in the background). URLs that carry ``auth-token`` (``update``) are opened by ``osascript``
reading its script from stdin (``open location``), so argv is just ``osascript -``. The URL is fully
percent-encoded (``quote(safe='')``), so it cannot contain a quote or backslash to break out of the
AppleScript string literal; ``MacUrlOpener`` re-checks that before building the script.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from typing import Protocol

from tools.things.errors import WriteUnavailableError
from tools.things.urlscheme import SCHEME_PREFIX

# Characters a URL built by ``urlscheme.build_url`` can contain.
_SAFE_URL = re.compile(r"things:///[A-Za-z0-9%._~\-]+\?[A-Za-z0-9%._~\-=&]*")

Runner = Callable[[Sequence[str], bytes | None], int]
"""Runs argv with optional stdin bytes and returns the exit status."""


class UrlOpener(Protocol):
    """Something that delivers a Things URL to Things (or a stand-in)."""

    def open(self, url: str) -> None: ...


def run_subprocess(argv: Sequence[str], stdin: bytes | None) -> int:
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell; the URL is pre-validated
        list(argv), input=stdin, capture_output=True, timeout=15, check=False
    )
    return completed.returncode


class MacUrlOpener:
    """Opens URLs with ``open -g``, or via ``osascript`` on stdin when the URL holds the auth token."""

    def __init__(self, runner: Runner = run_subprocess) -> None:
        self._runner = runner

    def __repr__(self) -> str:
        return "MacUrlOpener()"

    def open(self, url: str) -> None:
        if not url.startswith(SCHEME_PREFIX) or _SAFE_URL.fullmatch(url) is None:
            raise WriteUnavailableError("Refusing to open a URL that was not built by the Things URL builder.")
        status: int | str
        try:
            if "auth-token=" in url:
                script = f'open location "{url}"\n'.encode()
                status = self._runner(["/usr/bin/osascript", "-"], script)
            else:
                status = self._runner(["/usr/bin/open", "-g", url], None)
        except (OSError, subprocess.SubprocessError) as exc:  # these carry argv; keep it out
            status = type(exc).__name__
        if status != 0:
            raise WriteUnavailableError(
                f"macOS could not hand the request to Things (exit status {status}). Is Things 3 installed?"
            )
