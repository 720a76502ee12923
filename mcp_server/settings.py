"""Settings: one typed object from defaults, the config file and ``AGENT_AUTH_*`` environment variables.

Precedence: environment over config file over defaults. The config file is TOML at
``$XDG_CONFIG_HOME/agent-auth/config.toml`` (or ``AGENT_AUTH_CONFIG``). An unknown key or a value of the
wrong type is an error that names the key. Nothing is read at import time.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth.keys import KeyStoreKind
from mcp_server.errors import AgentAuthError

ENV_PREFIX = "AGENT_AUTH_"


class SettingsError(AgentAuthError):
    code = "invalid_settings"


def _xdg(env: Mapping[str, str], name: str, fallback: str) -> Path:
    value = env.get(name)
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / fallback


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    state_dir: Path
    config_dir: Path
    runtime_dir: Path
    key_store: KeyStoreKind = KeyStoreKind.AUTO
    host: str = "127.0.0.1"
    port: int = 9100
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Under 60 s with room for the slowest tool run (a Things write reads back for up to 8.5 s): a client on
    # the TypeScript SDK defaults (60 s, no reset on progress) then receives our own "nobody approved" answer.
    approval_timeout_seconds: float = 45.0
    max_pending_approvals_per_family: int = 5
    rate_limit_per_minute: int = 600
    notification_plugin_url: str | None = None
    notification_timeout_seconds: float = 65.0
    management_endpoints_enabled: bool = False
    reissue_by_family_id_enabled: bool = True
    reissue_cooldown_seconds: float = 300.0
    audit_fsync: bool = False
    shutdown_grace_seconds: float = 10.0
    max_connections: int = 1000
    request_header_timeout_seconds: float = 10.0
    request_body_timeout_seconds: float = 30.0
    mcp_sessions_per_family: int = 32
    mcp_session_idle_seconds: float = 900.0
    gpg_allowed_keys: tuple[str, ...] = ()
    gpg_home: Path | None = None
    gpg_binary: str = "gpg"
    gpg_timeout_seconds: float = 10.0
    gpg_sign_notations: bool = False
    things_database: Path | None = None
    log_level: str = "info"
    config_file: Path | None = field(default=None, compare=False)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "tokens.db"

    @property
    def audit_log_path(self) -> Path:
        return self.state_dir / "audit.log"

    @property
    def key_file_path(self) -> Path:
        return self.config_dir / "keys" / "keys.json"

    @property
    def admin_socket_path(self) -> Path:
        return self.runtime_dir / "admin.sock"

    @property
    def notifier_secret_path(self) -> Path:
        """The per-daemon secret that signs the HTTP notifier protocol (written at each start, 0600)."""
        return self.runtime_dir / "notifier.secret"

    @property
    def daemon_state_path(self) -> Path:
        return self.runtime_dir / "daemon.json"


_SETTABLE = {f.name: f for f in dataclasses.fields(Settings) if f.name != "config_file"}


def _coerce(name: str, hint: Any, value: Any, from_env: bool) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (from_env and value == ""):
            return None
        return _coerce(name, args[0], value, from_env)
    if origin is tuple:
        items = [s.strip() for s in value.split(",") if s.strip()] if from_env and isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise SettingsError(f"setting {name!r} must be a list of strings")
        return tuple(items)
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if (
                from_env
                and isinstance(value, str)
                and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}
            ):
                return value.lower() in {"1", "true", "yes", "on"}
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int) or from_env:
                return int(value)
            raise ValueError
        if hint is float:
            if isinstance(value, bool) or not (isinstance(value, int | float) or from_env):
                raise ValueError
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
        if hint is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if hint is Path:
            if not isinstance(value, str) or not value:
                raise ValueError
            return Path(value).expanduser()
        if hint is KeyStoreKind:
            return KeyStoreKind(value)
    except ValueError:
        raise SettingsError(f"setting {name!r} has an invalid value {value!r} (expected {_describe(hint)})") from None
    raise SettingsError(f"setting {name!r} has an unsupported type")


def _describe(hint: Any) -> str:
    if hint is KeyStoreKind:
        return "one of " + ", ".join(k.value for k in KeyStoreKind)
    return getattr(hint, "__name__", str(hint))


def load_settings(env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = env.get(f"{ENV_PREFIX}HOME")
    if home:
        if not os.path.isabs(home):
            raise SettingsError(f"{ENV_PREFIX}HOME must be an absolute path, not {home!r}")
        root = Path(home)
        config_dir, state_dir = root / "config", root / "state"
        base: dict[str, Any] = {
            "data_dir": root / "data",
            "state_dir": state_dir,
            "config_dir": config_dir,
            "runtime_dir": root / "run",
        }
    else:
        config_dir = _xdg(env, "XDG_CONFIG_HOME", ".config") / "agent-auth"
        state_dir = _xdg(env, "XDG_STATE_HOME", ".local/state") / "agent-auth"
        runtime = env.get("XDG_RUNTIME_DIR")
        base = {
            "data_dir": _xdg(env, "XDG_DATA_HOME", ".local/share") / "agent-auth",
            "state_dir": state_dir,
            "config_dir": config_dir,
            "runtime_dir": Path(runtime) / "agent-auth" if runtime and os.path.isabs(runtime) else state_dir / "run",
        }
    hints = typing.get_type_hints(Settings)
    config_path = Path(env[f"{ENV_PREFIX}CONFIG"]) if env.get(f"{ENV_PREFIX}CONFIG") else config_dir / "config.toml"
    values: dict[str, Any] = {}
    if env.get(f"{ENV_PREFIX}CONFIG") and not config_path.is_file():
        raise SettingsError(
            f"{ENV_PREFIX}CONFIG names {config_path}, which is not a file; create it or unset {ENV_PREFIX}CONFIG"
        )
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read the config file {config_path}: {exc}") from None
        for key, value in data.items():
            if key not in _SETTABLE:
                raise SettingsError(f"unknown setting {key!r} in {config_path}; known: {', '.join(sorted(_SETTABLE))}")
            values[key] = _coerce(key, hints[key], value, from_env=False)
    for key in _SETTABLE:
        env_name = ENV_PREFIX + key.upper()
        if env_name in env:
            values[key] = _coerce(env_name, hints[key], env[env_name], from_env=True)
    for key, value in (overrides or {}).items():
        if key not in _SETTABLE:
            raise SettingsError(f"unknown setting {key!r}")
        if value is not None:
            values[key] = value
    if "gpg_home" not in values:
        # gpg's own variable, then the agent-auth home's gnupg folder (the demo keeps its key there).
        gnupghome = env.get("GNUPGHOME")
        if gnupghome and os.path.isabs(gnupghome):
            values["gpg_home"] = Path(gnupghome)
        elif home and (Path(home) / "gnupg").is_dir():
            values["gpg_home"] = Path(home) / "gnupg"
    merged = {**base, **values}
    settings = Settings(**merged, config_file=config_path if config_path.exists() else None)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise SettingsError("tls_cert and tls_key must be set together (or neither); TLS is half-configured")
    if not 0 <= settings.port <= 65535:
        raise SettingsError(f"setting 'port' must be 0-65535, not {settings.port}")
    if settings.approval_timeout_seconds <= 0 or settings.rate_limit_per_minute <= 0:
        raise SettingsError("approval_timeout_seconds and rate_limit_per_minute must be positive")
    if settings.reissue_cooldown_seconds < 0:
        raise SettingsError("reissue_cooldown_seconds must not be negative")
    if min(settings.max_connections, settings.mcp_sessions_per_family) < 1:
        raise SettingsError("max_connections and mcp_sessions_per_family must be at least 1")
    if min(settings.request_header_timeout_seconds, settings.request_body_timeout_seconds) <= 0:
        raise SettingsError("request_header_timeout_seconds and request_body_timeout_seconds must be positive")
    if settings.mcp_session_idle_seconds <= 0:
        raise SettingsError("mcp_session_idle_seconds must be positive")
    if settings.max_pending_approvals_per_family < 1:
        raise SettingsError("max_pending_approvals_per_family must be at least 1")
