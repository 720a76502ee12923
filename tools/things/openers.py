"""Handing a ``things:///`` URL to the Things app.

``UrlOpener`` is the seam; ``MacUrlOpener`` is the macOS implementation, and
``tools.things.double.SampleDatabaseThingsApp`` stands in for Things on Linux.

Every URL goes to Things the same way: a small JavaScript-for-Automation script, read by ``osascript``
from **stdin**, asks ``NSWorkspace`` to open it with Things' bundle id and
``NSWorkspaceLaunchWithoutActivation``. So

- nothing about the request is in argv (arguments of a running process are visible to every local user
  through ``ps``: the URL-scheme auth token of ``update``, and the titles and notes of ``add``), and
- Things is never brought to the front — ``open location`` (AppleScript) activates it and steals the
  person's focus; ``open -g`` keeps it in the background but needs the URL in argv.

The URL is fully percent-encoded by ``urlscheme.build_url`` and re-checked here against the characters the
builder can produce, then embedded as a JSON string literal, so it cannot break out of the script.
"""

from __future__ import annotations

import json
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


THINGS_BUNDLE_ID = "com.culturedcode.ThingsMac"
NSWORKSPACE_LAUNCH_WITHOUT_ACTIVATION = 0x00000200
OSASCRIPT_JXA_FROM_STDIN = ("/usr/bin/osascript", "-l", "JavaScript", "-")


def background_open_script(url: str) -> bytes:
    """The JXA program that opens ``url`` in Things without activating it (``url`` already validated)."""
    return (
        "ObjC.import('AppKit');\n"
        "function run() {\n"
        f"  var url = $.NSURL.URLWithString({json.dumps(url)});\n"
        "  if (!url) { throw new Error('not a URL'); }\n"
        "  var ok = $.NSWorkspace.sharedWorkspace"
        ".openURLsWithAppBundleIdentifierOptionsAdditionalEventParamDescriptorLaunchIdentifiers(\n"
        f"    $.NSArray.arrayWithObject(url), {json.dumps(THINGS_BUNDLE_ID)}, "
        f"{NSWORKSPACE_LAUNCH_WITHOUT_ACTIVATION}, null, null);\n"
        "  if (!ok) { throw new Error('Things 3 could not be opened'); }\n"
        "}\n"
    ).encode()


class MacUrlOpener:
    """Opens URLs in Things in the background, with nothing of the request in argv."""

    def __init__(self, runner: Runner = run_subprocess) -> None:
        self._runner = runner

    def __repr__(self) -> str:
        return "MacUrlOpener()"

    def open(self, url: str) -> None:
        if not url.startswith(SCHEME_PREFIX) or _SAFE_URL.fullmatch(url) is None:
            raise WriteUnavailableError("Refusing to open a URL that was not built by the Things URL builder.")
        status: int | str
        try:
            status = self._runner(OSASCRIPT_JXA_FROM_STDIN, background_open_script(url))
        except (OSError, subprocess.SubprocessError) as exc:  # these carry argv; keep it out
            status = type(exc).__name__
        if status != 0:
            raise WriteUnavailableError(
                f"macOS could not hand the request to Things (exit status {status}). Is Things 3 installed?"
            )
