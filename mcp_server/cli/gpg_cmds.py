"""``agent-auth gpg …``: the signing keys the daemon may use and their stored passphrases.

``gpg keys`` lists the allowlist (``gpg_allowed_keys`` / ``AGENT_AUTH_GPG_ALLOWED_KEYS``) against the secret
keys in the daemon's ``GNUPGHOME`` (``gpg_home``). ``gpg passphrase set|clear|list`` manage the
passphrases the daemon feeds to gpg (keyring service ``agent-auth-gpg``, or a 0600 file when there is no
keyring backend). A passphrase is read without echo and never printed; ``list`` shows fingerprints only.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from mcp_server.cli.app import Application, UserError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mcp_server.integrations.gpg.passphrases import PassphraseStore
    from tools.gpg.keys import GpgKey


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    gpg = sub.add_parser(
        "gpg",
        help="GPG signing keys and their passphrases",
        description="The signing keys the daemon may use and their stored passphrases. 'gpg keys' lists the "
        "allowlist (setting gpg_allowed_keys, or AGENT_AUTH_GPG_ALLOWED_KEYS) against the secret keys in the "
        "daemon's gpg home (gpg_home, else GNUPGHOME). 'gpg passphrase set|clear|list' manage the passphrases "
        "the daemon gives gpg (in the OS keyring, or a 0600 file without one); a passphrase is typed without "
        "echo and never printed.",
    )
    gsub = gpg.add_subparsers(dest="gpg_command", required=True, metavar="COMMAND")
    keys = gsub.add_parser(
        "keys",
        parents=[common],
        help="list the allowlisted keys and whether GNUPGHOME holds them",
        description="List the allowlisted signing keys (env AGENT_AUTH_GPG_ALLOWED_KEYS, comma-separated) and "
        "whether their secret keys are in the daemon's GNUPGHOME (env AGENT_AUTH_GPG_HOME).",
    )
    keys.set_defaults(handler=cmd_keys)

    passphrase = gsub.add_parser("passphrase", help="store, remove or list GPG key passphrases")
    psub = passphrase.add_subparsers(dest="passphrase_command", required=True, metavar="COMMAND")
    set_cmd = psub.add_parser(
        "set",
        parents=[common],
        help="store the passphrase of a key (prompted without echo)",
        description="Store the passphrase the daemon passes to gpg for this key (read twice, without echo).",
    )
    set_cmd.add_argument("fingerprint", metavar="FINGERPRINT", help="the key's full 40- or 64-hex fingerprint")
    set_cmd.set_defaults(handler=cmd_passphrase_set)
    clear = psub.add_parser("clear", parents=[common], help="remove the stored passphrase of a key")
    clear.add_argument("fingerprint", metavar="FINGERPRINT", help="the key's full 40- or 64-hex fingerprint")
    clear.set_defaults(handler=cmd_passphrase_clear)
    listing = psub.add_parser("list", parents=[common], help="list the fingerprints that have a stored passphrase")
    listing.set_defaults(handler=cmd_passphrase_list)


def _store(app: Application) -> PassphraseStore:
    from mcp_server.integrations.gpg.passphrases import PassphraseStoreError, select_passphrase_store

    try:
        return select_passphrase_store(app.settings.key_store, app.settings.config_dir)
    except PassphraseStoreError as exc:
        raise UserError(exc.message, code=exc.code) from None


def _fingerprint(text: str) -> str:
    from tools.gpg.errors import GpgError
    from tools.gpg.policy import normalize_fingerprint

    try:
        return normalize_fingerprint(text)
    except GpgError as exc:
        raise UserError(exc.message, code=exc.code) from None


def _run(action: Any) -> Any:
    from mcp_server.integrations.gpg.passphrases import PassphraseStoreError

    try:
        return action()
    except PassphraseStoreError as exc:
        raise UserError(exc.message, code=exc.code) from None


def cmd_passphrase_set(app: Application, args: argparse.Namespace) -> int:
    fingerprint = _fingerprint(args.fingerprint)
    store = _store(app)
    first = getpass.getpass(f"Passphrase for {fingerprint}: ")
    if not first:
        raise UserError("an empty passphrase was not stored", code="empty_passphrase")
    if getpass.getpass("Repeat the passphrase: ") != first:
        raise UserError("the passphrases differ; nothing was stored", code="passphrase_mismatch")
    _run(lambda: store.set(fingerprint, first))
    allowed = fingerprint in {f.upper() for f in app.settings.gpg_allowed_keys}
    note = "" if allowed else f"\nnote: {fingerprint} is not in gpg_allowed_keys, so the daemon will not sign with it"
    app.emit(
        {"fingerprint": fingerprint, "stored": True, "store": store.description, "allowed": allowed},
        f"stored the passphrase for {fingerprint} in the {store.description}{note}",
    )
    return 0


def cmd_passphrase_clear(app: Application, args: argparse.Namespace) -> int:
    fingerprint = _fingerprint(args.fingerprint)
    store = _store(app)
    removed = _run(lambda: store.clear(fingerprint))
    app.emit(
        {"fingerprint": fingerprint, "removed": bool(removed)},
        f"removed the passphrase for {fingerprint}" if removed else f"no passphrase was stored for {fingerprint}",
    )
    return 0


def cmd_passphrase_list(app: Application, args: argparse.Namespace) -> int:
    store = _store(app)
    fingerprints: list[str] = _run(store.fingerprints)
    text = "\n".join(fingerprints) if fingerprints else f"no passphrases stored ({store.description})"
    app.emit({"fingerprints": fingerprints, "store": store.description}, text)
    return 0


def cmd_keys(app: Application, args: argparse.Namespace) -> int:
    from mcp_server.integrations.gpg.wiring import build_service
    from mcp_server.settings import SettingsError
    from tools.gpg.errors import GpgError
    from tools.gpg.passphrase import NoPassphrases

    try:
        service = build_service(app.settings, NoPassphrases())
    except SettingsError as exc:
        raise UserError(str(exc), code=exc.code) from None
    try:
        present = service.list_keys()
    except GpgError as exc:
        raise UserError(exc.message, code=exc.code) from None
    owners: dict[str, GpgKey] = {}
    for key in present:
        for fingerprint in (key.fingerprint, *(sub.fingerprint for sub in key.subkeys)):
            owners[fingerprint] = key
    home = str(app.settings.gpg_home or "~/.gnupg")
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for fingerprint in sorted(service.policy.allowed_fingerprints):
        owner = owners.get(fingerprint)
        user_ids = list(owner.user_ids) if owner else []
        rows.append(
            {
                "fingerprint": fingerprint,
                "in_gnupghome": owner is not None,
                "user_ids": user_ids,
                "algorithm": owner.algorithm if owner else None,
            }
        )
        lines.append(f"{fingerprint}  " + ((", ".join(user_ids) or "(no user id)") if owner else f"NOT in {home}"))
    text = "\n".join(lines) or (
        "no keys are allowlisted; set gpg_allowed_keys (env AGENT_AUTH_GPG_ALLOWED_KEYS) to full fingerprints"
    )
    app.emit({"gnupghome": home, "keys": rows}, text)
    return 0
