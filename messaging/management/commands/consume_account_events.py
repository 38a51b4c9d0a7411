"""`manage.py consume_account_events`: the worker (consumer, plus the outbox relay of its shard)."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import bootstrap
from messaging.consumer import EventConsumer
from messaging.relay import OutboxRelay

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Apply account events from RabbitMQ and relay the outbox; SIGTERM finishes the batch in hand."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--shard", type=int, default=0, help="Which shard's queue to consume (default 0)."
        )
        parser.add_argument(
            "--prefetch", type=int, default=2000, help="Most unacknowledged messages in flight."
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Most events in one transaction.")
        parser.add_argument(
            "--no-relay", action="store_true", help="Do not relay the outbox from this process."
        )

    def handle(self, *args, shard: int, prefetch: int, batch_size: int, no_relay: bool, **options) -> None:
        shards = settings.ACCOUNT_EVENT_SHARDS
        if not 0 <= shard < shards:
            raise CommandError(f"--shard must be between 0 and {shards - 1} (ACCOUNT_EVENT_SHARDS={shards})")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        relay = None
        relay_failed = threading.Event()
        if not no_relay:
            outbox = OutboxRelay(url=settings.RABBITMQ_URL, shard=shard, shards=shards, stop=stop)
            relay = threading.Thread(
                target=_or_stop_all, args=(outbox.run, stop, relay_failed), name=f"outbox-relay-{shard}"
            )
            relay.start()
        consumer = EventConsumer(
            url=settings.RABBITMQ_URL,
            shard=shard,
            shards=shards,
            prefetch=prefetch,
            batch_size=batch_size,
            ledger=bootstrap.ledger_store(),
            cache=bootstrap.limit_cache(),
            stop=stop,
        )
        try:
            consumer.run()
        finally:
            stop.set()
            if relay is not None:
                relay.join()
        self.stdout.write(f"stopped after applying {consumer.applied} events")
        if relay_failed.is_set():
            raise CommandError("the outbox relay failed (see the log); restart the worker")


def _or_stop_all(run, stop: threading.Event, failed: threading.Event) -> None:
    """Run the relay; if it dies of a bug, stop the whole worker rather than consume without relaying."""
    try:
        run()
    except BaseException:
        log.exception("the outbox relay failed; stopping the worker")
        failed.set()
        stop.set()
