"""Whether the broker answers, for /readyz."""

from __future__ import annotations

import pika
from pika.exceptions import AMQPError


def broker_is_reachable(url: str, timeout: float = 1.0) -> bool:
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout
    parameters.blocked_connection_timeout = timeout
    parameters.connection_attempts = 1
    try:
        pika.BlockingConnection(parameters).close()
    except (AMQPError, OSError):
        return False
    return True
