"""Say what a failed OS-keyring call means and what to do, instead of ``(-25308, 'Unknown Error')``.

On macOS the ``keyring`` package raises ``KeyringError`` chained to an error whose first argument is the
Security framework's ``OSStatus`` (see Apple's "Security Framework Result Codes"). The codes a daemon meets
in practice — a locked keychain or no GUI session under launchd or SSH, a denied or dismissed access dialog
(macOS asks again for every item after the Python interpreter changes) — get a message naming the cause and
the fix. Everything else keeps the backend's own words.
"""

from __future__ import annotations

import re

_INTERACTION_NOT_ALLOWED = -25308  # errSecInteractionNotAllowed
_USER_CANCELED = -128  # errSecUserCanceled
_AUTH_FAILED = -25293  # errSecAuthFailed
_NOT_AVAILABLE = -25291  # errSecNotAvailable
_NO_SUCH_KEYCHAIN = -25294  # errSecNoSuchKeychain
_NO_DEFAULT_KEYCHAIN = -25307  # errSecNoDefaultKeychain
_MISSING_ENTITLEMENT = -34018  # errSecMissingEntitlement

_HEADLESS_FIX = 'or set key_store = "file" (a 0600 key file) on a Mac that runs without anyone logged in'

_EXPLANATIONS: dict[int, str] = {
    _INTERACTION_NOT_ALLOWED: (
        "macOS did not allow the keychain to be used without a user interface (errSecInteractionNotAllowed, "
        "-25308): the login keychain is locked, or agent-auth runs outside a logged-in GUI session (over SSH, or "
        "as a launchd daemon instead of a LaunchAgent). Log in at the Mac, unlock the keychain there "
        "('security unlock-keychain'), and run the daemon as a LaunchAgent ('agent-auth service install'), "
        + _HEADLESS_FIX
    ),
    _USER_CANCELED: (
        "the keychain access dialog was denied or dismissed (errSecUserCanceled, -128). Start agent-auth again and "
        "choose 'Always Allow'. macOS asks again for every item after the Python interpreter changes (for example "
        "after a Homebrew or pyenv upgrade), because each item's access list names the old interpreter"
    ),
    _AUTH_FAILED: (
        "the keychain password was not accepted (errSecAuthFailed, -25293). Unlock the login keychain in Keychain "
        "Access and try again, " + _HEADLESS_FIX
    ),
    _NOT_AVAILABLE: "no keychain is available to this process (errSecNotAvailable, -25291); " + _HEADLESS_FIX,
    _NO_SUCH_KEYCHAIN: (
        "the keychain agent-auth was told to use does not exist (errSecNoSuchKeychain, -25294); check "
        "'security default-keychain', " + _HEADLESS_FIX
    ),
    _NO_DEFAULT_KEYCHAIN: (
        "this user has no default keychain (errSecNoDefaultKeychain, -25307); set one with 'security "
        "default-keychain -s login.keychain-db', " + _HEADLESS_FIX
    ),
    _MISSING_ENTITLEMENT: (
        "this Python build may not use the keychain (errSecMissingEntitlement, -34018); use a Python from "
        "python.org or Homebrew, " + _HEADLESS_FIX
    ),
}

_STATUS_IN_TEXT = re.compile(r"\((-\d{1,6}),")


def os_status_of(exc: BaseException) -> int | None:
    """The macOS ``OSStatus`` carried by ``exc`` or anything it was raised from, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        first = current.args[0] if current.args else None
        if isinstance(first, int) and not isinstance(first, bool) and first < 0:
            return first
        match = _STATUS_IN_TEXT.search(str(current))
        if match:
            return int(match.group(1))
        current = current.__cause__ or current.__context__
    return None


def explain_keyring_failure(exc: BaseException) -> str:
    """One sentence a person can act on for a keyring error (never includes secret material)."""
    status = os_status_of(exc)
    if status is not None and status in _EXPLANATIONS:
        return _EXPLANATIONS[status]
    if status is not None:
        return f"the keychain refused with OSStatus {status} ({type(exc).__name__}: {exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
