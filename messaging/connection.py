"""Opening broker connections, and the back-off both long-running loops use to reconnect."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import pika
from django.db import DatabaseError, close_old_connections
from django.db import connection as db
from pika.exceptions import AMQPError

from messaging import topology

log = logging.getLogger(__name__)


def parameters(url: str) -> pika.URLParameters:
    """Connection parameters from an AMQP URL (its vhost honoured), with our timeouts.

    A peer that stopped answering is noticed within seconds on both sides: RabbitMQ closes a
    connection that sent nothing for two to three heartbeats, 10 to 15 s (a frozen worker's;
    single active consumer then hands its queue to the standby), and our kernel drops one whose
    heartbeats went unacknowledged for 10 s (a vanished broker, a cut network). RabbitMQ advises
    against heartbeats under 5 s (false alarms).
    """
    result = pika.URLParameters(url)
    result.heartbeat = 5
    result.tcp_options = {
        "TCP_KEEPIDLE": 5,
        "TCP_KEEPINTVL": 2,
        "TCP_KEEPCNT": 3,
        "TCP_USER_TIMEOUT": 10_000,
    }
    result.connection_attempts = 1
    result.socket_timeout = 5
    result.blocked_connection_timeout = 30
    return result


def connect(url: str, *, shards: int) -> pika.BlockingConnection:
    """A blocking connection with the topology declared; raises pika's AMQPError or OSError."""
    connection = pika.BlockingConnection(parameters(url))
    topology.declare(connection.channel(), shards=shards)
    return connection


class Backoff:
    """Waits about 0.2 s, 0.4 s, … up to `ceiling` between reconnects; wakes early when `stop` is set.

    Each wait is drawn between half the step and the step, so the workers that lost the same
    server at the same moment do not all come back at the same moment.
    """

    FIRST = 0.2

    def __init__(
        self, stop: threading.Event, ceiling: float = 5.0, *, rng: random.Random | None = None
    ) -> None:
        self._stop = stop
        self._ceiling = ceiling
        self._rng = rng or random.Random()
        self._step = self.FIRST

    def wait(self, sleep: Callable[[float], object] | None = None) -> None:
        """Wait the next step, with `sleep` if given (one that keeps a connection served)."""
        (sleep or self._stop.wait)(self._rng.uniform(self._step / 2, self._step))
        self._step = min(self._step * 2, self._ceiling)

    def reset(self) -> None:
        self._step = self.FIRST


def run_until_stopped(session: Callable[[Backoff], None], *, stop: threading.Event, name: str) -> None:
    """Run `session` again and again until `stop` is set; a lost connection to RabbitMQ or
    PostgreSQL ends a session, and the next one starts after a back-off, on fresh connections."""
    backoff = Backoff(stop)
    while not stop.is_set():
        try:
            session(backoff)
        except (AMQPError, OSError, DatabaseError) as exc:
            log.warning("%s lost a connection, reconnecting: %r", name, exc)
            close_old_connections()
            db.close()
            backoff.wait()
    db.close()
