"""Opening broker connections, and the back-off both long-running loops use to reconnect."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import pika
from django.db import DatabaseError, close_old_connections
from django.db import connection as db
from pika.exceptions import AMQPConnectionError, AMQPError

from messaging import topology

log = logging.getLogger(__name__)


def nodes(url: str) -> list[str]:
    """The broker's nodes in the order to try them: RABBITMQ_URL is one AMQP URL, or one per node of a
    cluster, comma-separated (each with its own vhost and credentials)."""
    return [node.strip() for node in url.split(",") if node.strip()]


def parameters(url: str, *, name: str = "remit") -> list[pika.URLParameters]:
    """Connection parameters for each node (its vhost honoured), with our timeouts, named `name`
    (RabbitMQ shows it as the connection's name: `rabbitmqctl list_connections client_properties`).

    A peer that stopped answering is noticed within seconds on both sides: RabbitMQ closes a
    connection that sent nothing for two to three heartbeats, 10 to 15 s (a frozen worker's;
    single active consumer then hands its queue to the standby), and our kernel drops one whose
    heartbeats went unacknowledged for 10 s (a vanished broker, a cut network). RabbitMQ advises
    against heartbeats under 5 s (false alarms).
    """
    result = []
    for node in nodes(url):
        one = pika.URLParameters(node)
        one.heartbeat = 5
        one.tcp_options = {
            "TCP_KEEPIDLE": 5,
            "TCP_KEEPINTVL": 2,
            "TCP_KEEPCNT": 3,
            "TCP_USER_TIMEOUT": 10_000,
        }
        one.connection_attempts = 1
        one.socket_timeout = 5
        one.blocked_connection_timeout = 30
        one.client_properties = {"connection_name": name}
        result.append(one)
    return result


def connect_first_answering(
    url: str, *, shards: int, name: str = "remit"
) -> tuple[pika.BlockingConnection, pika.URLParameters]:
    """A blocking connection to the first node that answers, with the topology declared, and that
    node's parameters; raises pika's AMQPError or OSError when none does.

    A process whose node went away comes here again (after a back-off) and so moves to another
    node; a node refusing connections costs a refused connect, one that does not answer at all
    `socket_timeout`.
    """
    failures = []
    for node in parameters(url, name=name):
        try:
            connection = pika.BlockingConnection(node)
        except (AMQPError, OSError) as exc:
            failures.append(f"{node.host}:{node.port}: {exc!r}")
            continue
        topology.declare(connection.channel(), shards=shards)
        log.info("%s connected to RabbitMQ at %s:%s", name, node.host, node.port)
        return connection, node
    raise AMQPConnectionError(f"no RabbitMQ node answers ({'; '.join(failures)})")


def connect(url: str, *, shards: int, name: str = "remit") -> pika.BlockingConnection:
    """A blocking connection to the first node that answers, with the topology declared."""
    return connect_first_answering(url, shards=shards, name=name)[0]


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
