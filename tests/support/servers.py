"""Stopping, pausing and restarting the real Redis and RabbitMQ servers, for fault-injection tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.db import connections

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


def _redis() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1)


def _wait(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout}s")
        time.sleep(0.2)


def _redis_answers() -> bool:
    try:
        return _redis().ping()
    except redis.RedisError:
        return False


@contextmanager
def redis_stopped() -> Iterator[None]:
    """Redis is shut down inside the block (connections refused) and started again after."""
    # The shutdown closes the very connection that asked for it.
    with contextlib.suppress(redis.ConnectionError):
        _redis().shutdown(nosave=True)
    _wait(lambda: not _redis_answers(), "Redis stopping")
    try:
        yield
    finally:
        subprocess.run(REDIS_START, check=True, stdout=subprocess.DEVNULL)
        _wait(_redis_answers, "Redis starting")


@contextmanager
def redis_hanging() -> Iterator[None]:
    """Redis is frozen inside the block (SIGSTOP): connections open, nothing answers."""
    pid = int(_redis().info("server")["process_id"])
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
        _wait(_redis_answers, "Redis resuming")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL, timeout=120)


@contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """The RabbitMQ application is stopped inside the block (every connection dropped), started after."""
    _rabbitmqctl("stop_app")
    try:
        yield
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")


def _postgresql_cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        timeout=120,
    )


@contextmanager
def postgresql_stopped() -> Iterator[None]:
    """PostgreSQL is stopped inside the block (every connection closed) and started again after."""
    _postgresql_cluster("stop")
    try:
        yield
    finally:
        _postgresql_cluster("start")
        # This process's own connections died with the server; the next query opens a new one.
        connections.close_all()
