"""Opening broker connections, and the back-off both long-running loops use to reconnect."""

from __future__ import annotations

import threading

import pika

from messaging import topology


def connect(url: str, *, shards: int, heartbeat: int = 30) -> pika.BlockingConnection:
    """A blocking connection with the topology declared; raises pika's AMQPError or OSError."""
    parameters = pika.URLParameters(url)
    parameters.heartbeat = heartbeat
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    parameters.blocked_connection_timeout = 30
    connection = pika.BlockingConnection(parameters)
    topology.declare(connection.channel(), shards=shards)
    return connection


class Backoff:
    """Waits 0.2 s, 0.4 s, … up to `ceiling` between reconnects; wakes early when `stop` is set."""

    def __init__(self, stop: threading.Event, ceiling: float = 5.0) -> None:
        self._stop = stop
        self._ceiling = ceiling
        self._delay = 0.2

    def wait(self) -> None:
        self._stop.wait(self._delay)
        self._delay = min(self._delay * 2, self._ceiling)

    def reset(self) -> None:
        self._delay = 0.2
