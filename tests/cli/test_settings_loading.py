"""Settings: defaults, the TOML config file and AGENT_AUTH_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from auth.keys import KeyStoreKind
from mcp_server.settings import SettingsError, load_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        **extra,
    }


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "agent-auth" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_xdg_variables_place_all_state(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path))
    assert settings.database_path == tmp_path / "data" / "agent-auth" / "tokens.db"
    assert settings.audit_log_path == tmp_path / "state" / "agent-auth" / "audit.log"
    assert settings.key_file_path == tmp_path / "config" / "agent-auth" / "keys" / "keys.json"
    assert settings.admin_socket_path == tmp_path / "run" / "agent-auth" / "admin.sock"
    assert settings.key_store is KeyStoreKind.AUTO
    assert settings.config_file is None


def test_relative_xdg_variables_are_ignored(tmp_path: Path) -> None:
    settings = load_settings({"HOME": str(tmp_path), "XDG_DATA_HOME": "relative/dir"})
    assert settings.data_dir == tmp_path / ".local/share" / "agent-auth"


def test_environment_overrides_the_config_file(tmp_path: Path) -> None:
    config = _write_config(tmp_path, 'port = 9200\nkey_store = "keyring"\nhost = "127.0.0.2"\n')
    from_file = load_settings(_env(tmp_path))
    assert (from_file.port, from_file.key_store, from_file.host) == (9200, KeyStoreKind.KEYRING, "127.0.0.2")
    assert from_file.config_file == config
    overridden = load_settings(_env(tmp_path, AGENT_AUTH_PORT="9300", AGENT_AUTH_KEY_STORE="file"))
    assert (overridden.port, overridden.key_store, overridden.host) == (9300, KeyStoreKind.FILE, "127.0.0.2")


def test_agent_auth_config_points_at_another_file(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("audit_fsync = true\n")
    settings = load_settings(_env(tmp_path, AGENT_AUTH_CONFIG=str(other)))
    assert settings.audit_fsync is True


def test_environment_values_are_coerced_to_their_types(tmp_path: Path) -> None:
    settings = load_settings(
        _env(
            tmp_path,
            AGENT_AUTH_AUDIT_FSYNC="yes",
            AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS="2.5",
            AGENT_AUTH_GPG_ALLOWED_KEYS="AAAA, BBBB",
            AGENT_AUTH_NOTIFICATION_PLUGIN_URL="",
        )
    )
    assert settings.audit_fsync is True
    assert settings.approval_timeout_seconds == 2.5
    assert settings.gpg_allowed_keys == ("AAAA", "BBBB")
    assert settings.notification_plugin_url is None


def test_an_unknown_key_in_the_config_file_is_an_error_naming_it(tmp_path: Path) -> None:
    _write_config(tmp_path, "port = 9100\nfrobnicate_level = 3\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env(tmp_path))
    assert excinfo.value.code == "invalid_settings"
    assert "frobnicate_level" in str(excinfo.value)


@pytest.mark.parametrize(
    ("config_text", "key"),
    [
        ('port = "ninety-one hundred"', "port"),
        ("port = true", "port"),
        ("port = 9100.5", "port"),
        ("audit_fsync = 1", "audit_fsync"),
        ('key_store = "vault"', "key_store"),
        ("host = 127", "host"),
        ('gpg_allowed_keys = "AAAA"', "gpg_allowed_keys"),
        ("tls_cert = 5", "tls_cert"),
        ('approval_timeout_seconds = "soon"', "approval_timeout_seconds"),
    ],
)
def test_a_wrong_type_in_the_config_file_is_an_error_naming_the_key(tmp_path: Path, config_text: str, key: str) -> None:
    _write_config(tmp_path, config_text + "\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env(tmp_path))
    assert excinfo.value.code == "invalid_settings"
    assert key in str(excinfo.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_AUTH_PORT", "abc"),
        ("AGENT_AUTH_AUDIT_FSYNC", "maybe"),
        ("AGENT_AUTH_KEY_STORE", "vault"),
        ("AGENT_AUTH_RATE_LIMIT_PER_MINUTE", "1.5"),
    ],
)
def test_a_wrong_value_in_the_environment_is_an_error_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env(tmp_path, **{variable: value}))
    assert variable in str(excinfo.value)


def test_an_unreadable_config_file_is_an_error(tmp_path: Path) -> None:
    _write_config(tmp_path, "port = [unclosed\n")
    with pytest.raises(SettingsError):
        load_settings(_env(tmp_path))


@pytest.mark.parametrize(
    "extra",
    [{"AGENT_AUTH_TLS_CERT": "/etc/cert.pem"}, {"AGENT_AUTH_TLS_KEY": "/etc/key.pem"}],
)
def test_half_configured_tls_is_refused(tmp_path: Path, extra: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(_env(tmp_path, **extra))
    assert excinfo.value.code == "invalid_settings"
    both = load_settings(_env(tmp_path, AGENT_AUTH_TLS_CERT="/etc/cert.pem", AGENT_AUTH_TLS_KEY="/etc/key.pem"))
    assert (both.tls_cert, both.tls_key) == (Path("/etc/cert.pem"), Path("/etc/key.pem"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_AUTH_PORT", "70000"),
        ("AGENT_AUTH_APPROVAL_TIMEOUT_SECONDS", "0"),
        ("AGENT_AUTH_MAX_PENDING_APPROVALS_PER_FAMILY", "0"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(SettingsError):
        load_settings(_env(tmp_path, **{variable: value}))
