"""External parts that fail: a notifier that hangs, gpg that hangs, dies by a signal or prints garbage, a
keyring that fails at start, keys deleted while families exist. Each gives its documented error; none grants.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from auth.errors import KeysMissingError, KeyStoreError
from auth.keys import KeyringKeyStore
from mcp_server.daemon import serve
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.notifier import HttpNotifierChannel
from mcp_server.settings import load_settings
from tests.reliability.conftest import StartFull
from tests.support.approvals import ScriptedNotifier, scripted_notifier
from tools.gpg.errors import GpgTimeoutError, GpgUnavailableError, SigningFailedError
from tools.gpg.runner import GpgRunner

NOTIFIER_TIMEOUT_SECONDS = 1.0
GPG_TIMEOUT_SECONDS = 1.0
FINGERPRINT = "A" * 40
COMMIT = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 0 +0000\ncommitter a <a@b> 0 +0000\n\nm\n"


# --- a notifier that hangs -------------------------------------------------------------------------------


def test_a_notifier_that_hangs_is_a_denial_within_its_timeout_and_its_late_approval_grants_nothing(
    start_full: StartFull,
) -> None:
    with scripted_notifier([ScriptedNotifier.approve("timed", 60)], hold=True) as notifier:

        def prepare(ctx: DaemonContext) -> None:
            ctx.broker.add_channel(
                HttpNotifierChannel(notifier.url, secret=notifier.secret, timeout_seconds=NOTIFIER_TIMEOUT_SECONDS)
            )

        daemon = start_full(prepare=prepare, approval_timeout_seconds=30)
        family = daemon.create_family({"things:write": "prompt"})
        body = {"token": family.access_token, "required_scope": "things:write", "description": "hang"}
        with httpx2.Client(base_url=daemon.url, timeout=30) as http:
            started = time.monotonic()
            reply = http.post("/agent-auth/v1/validate", json=body)
            elapsed = time.monotonic() - started
            notifier.release.set()  # the hung notifier finally answers "approve for an hour"
            assert notifier.received.is_set()
            again = http.post("/agent-auth/v1/validate", json=body)
    assert (reply.status_code, reply.json()["error"]) == (403, "scope_denied"), reply.text
    assert reply.json()["detail"] == "denied", reply.text  # the channel decides "deny" when it gets no answer
    assert elapsed < NOTIFIER_TIMEOUT_SECONDS + 3, elapsed  # the channel's timeout, not the 30 s approval timeout
    assert again.status_code == 403, again.text  # the late approval left no grant behind
    assert daemon.ctx.broker.grants() == [] and daemon.ctx.broker.pending() == []


# --- gpg that hangs, crashes or prints garbage -----------------------------------------------------------


def fake_gpg(tmp_path: Path, body: str) -> GpgRunner:
    script = tmp_path / "gpg"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    gpgconf = tmp_path / "gpgconf"
    gpgconf.write_text("#!/bin/sh\nexit 0\n")
    gpgconf.chmod(gpgconf.stat().st_mode | stat.S_IXUSR)
    return GpgRunner(
        gnupghome=tmp_path / "home",
        gpg_binary=str(script),
        gpgconf_binary=str(gpgconf),
        timeout_seconds=GPG_TIMEOUT_SECONDS,
    )


@pytest.mark.parametrize(
    ("behaviour", "body", "error"),
    [
        ("hangs", "sleep 60\n", GpgTimeoutError),
        ("dies by SIGSEGV", "kill -SEGV $$\n", SigningFailedError),
        ("dies by SIGKILL", "kill -KILL $$\n", SigningFailedError),
        ("prints garbage and exits 0", "head -c 64 /dev/urandom | base64; exit 0\n", GpgUnavailableError),
        (
            "prints an armor header without SIG_CREATED",
            "echo '-----BEGIN PGP SIGNATURE-----'; echo garbage; exit 0\n",
            GpgUnavailableError,
        ),
    ],
)
def test_a_broken_gpg_gives_its_documented_error_and_no_signature(
    tmp_path: Path, behaviour: str, body: str, error: type[Exception]
) -> None:
    runner = fake_gpg(tmp_path, body)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        runner.sign_detached(FINGERPRINT, COMMIT)
    assert time.monotonic() - started < GPG_TIMEOUT_SECONDS + 5
    assert caught.value.code in {"gpg_timeout", "signing_failed", "gpg_unavailable"}, behaviour


# --- the keyring failing at start, keys deleted while families exist ------------------------------------


class FailingKeyring:
    """A keyring backend that raises on every call, as a locked or crashed Secret Service does."""

    priority = 10

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


def test_a_failing_keyring_backend_at_start_refuses_to_open_the_daemon(
    daemon_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_store(*_args: Any, **_kwargs: Any) -> KeyringKeyStore:
        return KeyringKeyStore(FailingKeyring())

    monkeypatch.setattr(serve, "select_key_store", failing_store)
    settings = load_settings(env={**daemon_env, "AGENT_AUTH_KEY_STORE": "keyring"})
    with pytest.raises(KeyStoreError) as refused:
        serve.open_context(settings)
    assert refused.value.code == "key_store_error"
    assert not settings.key_file_path.exists()  # no silent fallback to a fresh key file


def test_keys_deleted_while_families_exist_refuse_to_start_with_keys_missing(
    daemon_env: dict[str, str], start_full: StartFull
) -> None:
    daemon = start_full()
    daemon.create_family({"things:read": "allow"})
    daemon.stop()
    settings = load_settings(env=daemon_env)
    settings.key_file_path.unlink()
    with pytest.raises(KeysMissingError) as refused:
        serve.open_context(settings)
    assert refused.value.code == "keys_missing"
    assert not settings.key_file_path.exists()  # no second key set was minted
