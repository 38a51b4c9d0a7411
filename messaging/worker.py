"""The worker process's parts: the outbox relay thread and the consumer, sharing one stop event."""

from __future__ import annotations

import logging
import threading

from messaging.consumer import EventConsumer
from messaging.relay import OutboxRelay

log = logging.getLogger(__name__)


class Worker:
    """Runs the consumer in the calling thread and the relay (if any) in its own; `stop()` ends both.

    If the relay dies of a bug, the whole worker stops rather than consume without relaying.
    """

    def __init__(self, *, consumer: EventConsumer, relay: OutboxRelay | None, stop: threading.Event) -> None:
        self.consumer = consumer
        self._relay = relay
        self._stop = stop
        self.relay_failed = False

    def run(self) -> int:
        """Apply events until stopped; return how many were applied."""
        thread = None
        if self._relay is not None:
            thread = threading.Thread(target=self._relay_or_stop_all, name="outbox-relay")
            thread.start()
        try:
            self.consumer.run()
        finally:
            self._stop.set()
            if thread is not None:
                thread.join()
        return self.consumer.applied

    def stop(self) -> None:
        self._stop.set()

    def _relay_or_stop_all(self) -> None:
        assert self._relay is not None
        try:
            self._relay.run()
        except BaseException:
            log.exception("the outbox relay failed; stopping the worker")
            self.relay_failed = True
            self._stop.set()
