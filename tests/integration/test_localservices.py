"""The local Redis and RabbitMQ get generated credentials (dallosh.localservices, run by ./run)."""

from __future__ import annotations

import shutil
import subprocess

import pika
import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from dallosh.config import load_config
from dallosh.localservices import local_url, secure_redis
from tests.conftest import free_port


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of its own on a free port, without a password, as Debian starts it."""
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = Redis(port=port, socket_connect_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            break
        except OSError:
            proc.poll()
            client.connection_pool.disconnect()
            subprocess.run(["sleep", "0.05"])  # no event for "listening": poll the port
    yield port
    proc.terminate()
    proc.wait(10)


def test_redis_gets_the_generated_password(private_redis):
    assert Redis(port=private_redis).ping()  # positive control: open as installed
    url = secure_redis("s3cret-generated", port=private_redis)
    assert url == f"redis://:s3cret-generated@127.0.0.1:{private_redis}/0"
    with pytest.raises((AuthenticationError, ResponseError)):
        Redis(port=private_redis).ping()  # anyone else on the machine: refused
    assert Redis.from_url(url).ping()
    assert secure_redis("s3cret-generated", port=private_redis) == url  # idempotent
    with pytest.raises(RuntimeError, match="DALLOSH_REDIS_URL"):
        secure_redis("another-password", port=private_redis)


def test_configuration_uses_the_generated_passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("DALLOSH_SERVICES_STATE", str(tmp_path))
    assert local_url("redis", "redis://localhost:6379/0") == "redis://localhost:6379/0"  # nothing generated yet
    (tmp_path / "redis.password").write_text("p@ss/word")
    (tmp_path / "rabbitmq.password").write_text("rabbit-pass")
    config = load_config({}, env_file=tmp_path / "none")
    assert config.redis_url == "redis://:p%40ss%2Fword@127.0.0.1:6379/0"
    assert config.rabbitmq_url == "amqp://dallosh:rabbit-pass@127.0.0.1:5672/%2F"
    mine = load_config({"DALLOSH_REDIS_URL": "redis://cache:6379/1"}, env_file=tmp_path / "none")
    assert mine.redis_url == "redis://cache:6379/1"  # a URL the user set is theirs


def test_the_local_broker_refuses_guest():
    """./run secured the machine's RabbitMQ: the app's own account works, guest/guest no longer does."""
    url = load_config().rabbitmq_url
    assert pika.URLParameters(url).credentials.username == "dallosh", "run the tests with ./run test"
    pika.BlockingConnection(pika.URLParameters(url)).close()
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F")).close()
