from __future__ import annotations

from pathlib import Path

import pytest

from soc.config import ConfigError, load_config


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_config(environ={})
    assert s.api.port == 8000
    assert s.storage.events_backend == "parquet"
    assert s.state_url.startswith("sqlite:///")
    assert s.incidents.profile == "vn-2026"


def test_repository_config_is_valid(repo: Path) -> None:
    s = load_config(repo / "soc.toml", environ={})
    assert {src.name for src in s.sources} >= {"syslog-udp", "syslog-tcp"}


def test_unknown_key_reported_with_location(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text("[api]\nprot = 8000\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert "api.prot" in str(err.value) and "unknown key" in str(err.value)


def test_wrong_value_reported_with_expected_form(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text('[api]\nport = "eighty"\n[[sources]]\nname="x"\ntype="syslog_udp"\nport=99999\n')
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    msg = str(err.value)
    assert "api.port" in msg and "eighty" in msg
    assert "sources.0.port" in msg


def test_bad_source_format_and_timezone(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text('[[sources]]\nname="x"\ntype="file"\npath="/tmp/x"\nformat="nope"\ntimezone="Mars/Base"\n')
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert "unknown format 'nope'" in str(err.value)
    assert "unknown time zone" in str(err.value)


def test_environment_overrides_file(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text("[api]\nport = 8000\n")
    s = load_config(p, environ={"SOC_API__PORT": "8123", "SOC_STORAGE__RETENTION_DAYS": "30"})
    assert s.api.port == 8123 and s.storage.retention_days == 30


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_invalid_toml(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text("[api\nport=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p, environ={})


def test_secrets_not_shown(tmp_path: Path) -> None:
    p = tmp_path / "soc.toml"
    p.write_text('[incidents.smtp]\npassword = "hunter2-secret"\n')
    s = load_config(p, environ={})
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(s.model_dump())


def test_configuration_reference_is_up_to_date(repo: Path) -> None:
    from soc.config import reference_markdown

    assert (repo / "docs" / "configuration.md").read_text(encoding="utf-8") == reference_markdown(), \
        "docs/configuration.md is stale: run `soc config docs > docs/configuration.md`"
