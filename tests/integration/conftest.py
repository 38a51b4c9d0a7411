"""Integration tests talk to the real servers: their RabbitMQ vhosts exist first."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.support.processes import free_port


@pytest.fixture(scope="session", autouse=True)
def _vhosts(rabbitmq_vhosts) -> None:
    """Every integration test may reach RabbitMQ on its vhost."""


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    """A Redis of this test's own, to stop and freeze without touching the machine's."""
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=0.1, socket_connect_timeout=0.1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    yield server, port
    if server.poll() is None:
        os.kill(server.pid, signal.SIGCONT)
        server.terminate()
        server.wait(10)
