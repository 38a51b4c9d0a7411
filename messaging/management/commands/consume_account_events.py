"""`manage.py consume_account_events`: the worker (consumer, plus the outbox relay of its shard)."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import bootstrap
from messaging.consumer import EventConsumer
from messaging.relay import OutboxRelay


class Command(BaseCommand):
    help = "Apply account events from RabbitMQ and relay the outbox; SIGTERM finishes the batch in hand."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--shard", type=int, default=0, help="Which shard's queue to consume (default 0)."
        )
        parser.add_argument(
            "--prefetch", type=int, default=200, help="Most messages in flight, i.e. the largest batch."
        )
        parser.add_argument(
            "--no-relay", action="store_true", help="Do not relay the outbox from this process."
        )

    def handle(self, *args, shard: int, prefetch: int, no_relay: bool, **options) -> None:
        shards = settings.ACCOUNT_EVENT_SHARDS
        if not 0 <= shard < shards:
            raise CommandError(f"--shard must be between 0 and {shards - 1} (ACCOUNT_EVENT_SHARDS={shards})")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        relay = None
        if not no_relay:
            relay = threading.Thread(
                target=OutboxRelay(url=settings.RABBITMQ_URL, shard=shard, shards=shards, stop=stop).run,
                name=f"outbox-relay-{shard}",
            )
            relay.start()
        consumer = EventConsumer(
            url=settings.RABBITMQ_URL,
            shard=shard,
            shards=shards,
            prefetch=prefetch,
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
