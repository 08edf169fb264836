"""The ``dallosh`` command as a user runs it: a real subprocess, a real embedded database on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dallosh.db.embedded import probe
from tests.conftest import free_port


@pytest.fixture
def cli_env(tmp_path):
    port = free_port()
    env = {**os.environ, "DALLOSH_MONGODB_URI": f"mongodb://127.0.0.1:{port}",
           "DALLOSH_MONGODB_DATABASE": "cli_test", "DALLOSH_STORAGE_ROOT": str(tmp_path / "storage")}
    yield env
    subprocess.run([sys.executable, "-m", "dallosh", "db", "stop"], env=env, capture_output=True, timeout=60)


def run(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "dallosh", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_db_start_status_stop(cli_env):
    assert run(cli_env, "db", "status").returncode == 3
    started = run(cli_env, "db", "start")
    assert started.returncode == 0 and "embedded nx-27017" in started.stdout
    assert "storage/db" in run(cli_env, "db", "status").stdout
    assert probe(cli_env["DALLOSH_MONGODB_URI"]) is None  # answering, and it is nx-27017
    again = run(cli_env, "db", "start")  # idempotent
    assert again.returncode == 0
    assert "stopped" in run(cli_env, "db", "stop").stdout
    assert probe(cli_env["DALLOSH_MONGODB_URI"], timeout_ms=500) is False


def test_up_once_bootstraps_and_stops_what_it_started(cli_env):
    result = run(cli_env, "up", "--once")
    assert result.returncode == 0, result.stderr
    assert "created user admin@free.com" in result.stdout and "default password" in result.stdout
    assert probe(cli_env["DALLOSH_MONGODB_URI"], timeout_ms=500) is False
    second = run(cli_env, "up", "--once")
    assert "created" not in second.stdout  # bootstrap is idempotent across runs


def test_up_twice_says_already_running_and_down_stops(cli_env):
    proc = subprocess.Popen([sys.executable, "-m", "dallosh", "up"], env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "is up" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "is up" in line
        second = run(cli_env, "up")
        assert second.returncode == 1 and "already running" in second.stdout
        down = run(cli_env, "down")
        assert "stopped" in down.stdout
        assert proc.wait(timeout=30) == 0
        assert probe(cli_env["DALLOSH_MONGODB_URI"], timeout_ms=500) is False
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)


def test_bootstrap_refuses_without_database(cli_env):
    result = run(cli_env, "bootstrap")
    assert result.returncode == 1 and "dallosh db start" in result.stderr


def test_external_mongodb_left_untouched(cli_env, mongo_uri):
    env = {**cli_env, "DALLOSH_MONGODB_URI": mongo_uri}
    result = run(env, "db", "stop")
    assert "no embedded database started by this project" in result.stdout
    assert probe(mongo_uri) is not False


def test_config_env_example(cli_env):
    result = run(cli_env, "config", "env-example")
    assert "DALLOSH_MONGODB_URI=mongodb://localhost:27017" in result.stdout
