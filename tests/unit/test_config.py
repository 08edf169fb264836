from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dallosh.config import PROJECT_ROOT, SETTINGS, Config, env_example, load_config, read_env_file


def test_env_example_is_generated_from_settings():
    committed = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == env_example(), "run `dallosh config env-example > .env.example`"


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert setting.env.startswith("DALLOSH_") and len(setting.help) > 15


def test_defaults(tmp_path):
    config = load_config({}, env_file=tmp_path / "none")
    assert config.mongodb_uri == "mongodb://localhost:27017"
    assert config.mongodb_database == "dallosh_analysis"
    assert config.storage_root == PROJECT_ROOT / "storage"
    assert config.hub_port == 8000 and config.mongodb_is_local and config.mongodb_port == 27017


def test_relative_storage_is_anchored_at_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config({"DALLOSH_STORAGE_ROOT": "data/store"}, env_file=tmp_path / "none")
    assert config.storage_root == PROJECT_ROOT / "data" / "store"


def test_env_file_then_environment(tmp_path):
    env = tmp_path / ".env"
    env.write_text("# comment\nDALLOSH_HUB_PORT=9000\nDALLOSH_MONGODB_DATABASE='from_file'\n\nJUNK\n")
    assert read_env_file(env) == {"DALLOSH_HUB_PORT": "9000", "DALLOSH_MONGODB_DATABASE": "from_file"}
    config = load_config({"DALLOSH_HUB_PORT": "9100"}, env_file=env)
    assert config.hub_port == 9100 and config.mongodb_database == "from_file"


def test_bad_values_are_explained(tmp_path):
    with pytest.raises(ValueError, match="DALLOSH_HUB_PORT='eighty' is not valid: .*valid integer"):
        load_config({"DALLOSH_HUB_PORT": "eighty"}, env_file=tmp_path / "none")
    with pytest.raises(ValueError, match="DALLOSH_EMBEDDED_DB='maybe' is not valid: .*'auto' or 'never'"):
        load_config({"DALLOSH_EMBEDDED_DB": "maybe"}, env_file=tmp_path / "none")
    with pytest.raises(ValueError, match="DALLOSH_HEARTBEAT_S='-1' is not valid: .*greater than 0"):
        load_config({"DALLOSH_HEARTBEAT_S": "-1"}, env_file=tmp_path / "none")
    with pytest.raises(ValueError, match="DALLOSH_JOB_TIMEOUT_S='soon'"):
        load_config({"DALLOSH_JOB_TIMEOUT_S": "soon"}, env_file=tmp_path / "none")
    assert load_config({"DALLOSH_HEARTBEAT_S": "0.5"}, env_file=tmp_path / "none").heartbeat_s == 0.5  # control


def test_settings_are_the_config_fields():
    """One declaration: every field of Config is a documented setting and nothing else is."""
    assert [s.attr for s in SETTINGS] == [f.name for f in dataclasses.fields(Config)]
    assert {s.env for s in SETTINGS if s.secret} == {"DALLOSH_RABBITMQ_URL", "DALLOSH_SECRET_KEY"}


def test_home_holds_the_env_file_and_relative_storage(tmp_path):
    (tmp_path / ".env").write_text("DALLOSH_MONGODB_DATABASE=in_home\nDALLOSH_HOME=/elsewhere\n")
    config = load_config({"DALLOSH_HOME": str(tmp_path)})
    assert config.home == tmp_path and config.storage_root == tmp_path / "storage"
    assert config.mongodb_database == "in_home", "the .env file of the home is read"
    assert load_config({}, env_file=tmp_path / ".env").home == PROJECT_ROOT, "a .env file cannot move the home"
    absolute = load_config({"DALLOSH_HOME": str(tmp_path), "DALLOSH_STORAGE_ROOT": "/srv/x"})
    assert absolute.storage_root == Path("/srv/x")


def test_remote_uri_is_not_local(tmp_path):
    config = load_config({"DALLOSH_MONGODB_URI": "mongodb://db.example.com:27018"}, env_file=Path("/x"))
    assert not config.mongodb_is_local and config.mongodb_port == 27018


def test_secrets_hidden_from_repr(tmp_path):
    config = load_config({"DALLOSH_SECRET_KEY": "topsecret"}, env_file=tmp_path / "none")
    assert "topsecret" not in repr(config)
