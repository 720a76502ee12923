"""Keyring failures say what happened and what to do — the macOS OSStatus codes a daemon really meets."""

from __future__ import annotations

from typing import Any

import pytest
from keyring.errors import KeyringError, KeyringLocked

from auth.errors import KeyStoreError
from auth.keychain_status import explain_keyring_failure, os_status_of
from auth.keys import KeyringKeyStore
from mcp_server.integrations.bridge_errors import gpg_bridge_error
from mcp_server.integrations.gpg.passphrases import KeyringPassphrases
from tools.gpg.errors import PassphraseUnavailableError


class _SecurityApiError(Exception):
    """Shaped like keyring.backends.macOS.api.Error: ``(status, message)``."""


def _macos_failure(status: int, outer: type[KeyringError] = KeyringError) -> KeyringError:
    """What keyring's macOS backend raises: a KeyringError chained from the Security API error."""
    try:
        try:
            raise _SecurityApiError(status, "Unknown Error")
        except _SecurityApiError as inner:
            raise outer(f"Can't get password from keychain: {inner}") from inner
    except KeyringError as exc:
        return exc


class _FailingBackend:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def get_password(self, service: str, user: str) -> Any:
        raise self.exc

    def set_password(self, service: str, user: str, secret: str) -> None:
        raise self.exc

    def delete_password(self, service: str, user: str) -> None:
        raise self.exc


def test_the_status_is_found_through_the_exception_chain_and_in_text() -> None:
    assert os_status_of(_macos_failure(-25308)) == -25308
    assert os_status_of(RuntimeError("Can't get password from keychain: (-128, 'Unknown Error')")) == -128
    assert os_status_of(RuntimeError("no status here")) is None
    assert os_status_of(_SecurityApiError(True, "a bool is not a status")) is None


def test_no_gui_session_is_explained_with_the_fixes() -> None:
    text = explain_keyring_failure(_macos_failure(-25308))
    assert "errSecInteractionNotAllowed" in text
    assert "LaunchAgent" in text and 'key_store = "file"' in text
    assert "Unknown Error" not in text


def test_a_dismissed_dialog_mentions_always_allow_and_interpreter_upgrades() -> None:
    text = explain_keyring_failure(_macos_failure(-128, KeyringLocked))
    assert "Always Allow" in text and "interpreter" in text


def test_an_unknown_status_keeps_the_number_and_the_backend_words() -> None:
    text = explain_keyring_failure(_macos_failure(-99999))
    assert "-99999" in text and "Can't get password" in text


def test_the_daemon_key_store_refuses_to_start_with_the_explanation() -> None:
    store = KeyringKeyStore(_FailingBackend(_macos_failure(-25308)))
    with pytest.raises(KeyStoreError) as caught:
        store.load()
    assert "errSecInteractionNotAllowed" in caught.value.message
    assert "(-25308, 'Unknown Error')" not in caught.value.message


def test_an_unreadable_stored_passphrase_is_an_error_not_a_silent_passphrase_required() -> None:
    """Before, the failure was logged and swallowed; gpg then reported passphrase_required."""
    store = KeyringPassphrases(_FailingBackend(_macos_failure(-25308)))
    with pytest.raises(PassphraseUnavailableError) as caught:
        store.passphrase_for("A" * 40)
    assert caught.value.code == "passphrase_unavailable"
    assert "errSecInteractionNotAllowed" in caught.value.message
    status, body = gpg_bridge_error(caught.value)
    assert (status, body["error"], body["code"]) == (503, "gpg_permission_denied", "passphrase_unavailable")
