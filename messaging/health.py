"""Whether the broker answers, for /readyz: any node of a cluster will do."""

from __future__ import annotations

import pika
from pika.exceptions import AMQPError

from messaging.connection import parameters


def broker_is_reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether a node answers, tried in the order RABBITMQ_URL lists them, `timeout` each."""
    for node in parameters(url, name="remit readiness check"):
        node.socket_timeout = timeout
        node.blocked_connection_timeout = timeout
        node.stack_timeout = timeout
        try:
            pika.BlockingConnection(node).close()
        except (AMQPError, OSError):
            continue
        return True
    return False
