"""Which program macOS asks Full Disk Access for, and how to say so.

Since macOS 15 (Sequoia) another app's group container — where Things keeps its database — is protected by
TCC: a process without Full Disk Access gets ``EPERM`` listing or stat-ing it. macOS charges the access to
the *responsible* process: the terminal app when agent-auth was started from a terminal, and the
interpreter binary itself when launchd started it (``agent-auth service install``). This module names that
program from the process's environment so the error says exactly what to add in System Settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# TERM_PROGRAM values the common macOS terminals set, and the app a person finds in /Applications.
_TERMINAL_APPS: Mapping[str, str] = {
    "Apple_Terminal": "Terminal (in /System/Applications/Utilities)",
    "iTerm.app": "iTerm",
    "vscode": "Visual Studio Code (or the editor whose terminal you use)",
    "WezTerm": "WezTerm",
    "ghostty": "Ghostty",
    "WarpTerminal": "Warp",
    "Hyper": "Hyper",
    "Tabby": "Tabby",
}

FULL_DISK_ACCESS_STEPS = (
    "System Settings > Privacy & Security > Full Disk Access, click +, add it and switch it on, then restart agent-auth"
)


def full_disk_access_subject(environ: Mapping[str, str], executable: str) -> str:
    """The program a person must grant Full Disk Access to, as they will find it."""
    term = environ.get("TERM_PROGRAM", "")
    if term in _TERMINAL_APPS:
        return f"your terminal app, {_TERMINAL_APPS[term]}"
    if term and term != "tmux":
        return f"your terminal app ({term})"
    if environ.get("XPC_SERVICE_NAME", "0") not in ("", "0") or not environ.get("TERM"):
        # Started by launchd (a LaunchAgent sets XPC_SERVICE_NAME) or without any terminal: the interpreter
        # binary itself is the responsible process. The real file, not a symlink, is what TCC records; in
        # the Finder's add dialog press Cmd-Shift-G to type its path.
        real = Path(os.path.realpath(executable))
        return (
            f"the Python interpreter running agent-auth, {real} (press Cmd-Shift-G in the add dialog to type the path)"
        )
    return "the terminal app you started agent-auth from"


def full_disk_access_advice(environ: Mapping[str, str], executable: str) -> str:
    """How to grant the access, naming the program."""
    return f"Grant Full Disk Access to {full_disk_access_subject(environ, executable)}: {FULL_DISK_ACCESS_STEPS}."
