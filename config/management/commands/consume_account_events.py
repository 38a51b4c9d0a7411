"""`manage.py consume_account_events`: the worker process's entrypoint; starts and stops the Worker
that config/bootstrap.py builds (relay thread, consumer, stop event)."""

from __future__ import annotations

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import bootstrap
from config.startup import freeze_startup_objects
from messaging import metrics
from telemetry import tracing

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
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            metavar="N",
            help="Serve Prometheus metrics at http://ADDRESS:N/metrics (default: no metrics endpoint).",
        )
        parser.add_argument(
            "--metrics-address",
            default="0.0.0.0",
            metavar="ADDRESS",
            help="Interface for --metrics-port (default 0.0.0.0, all; 127.0.0.1 keeps it on this host).",
        )

    def handle(
        self,
        *args,
        shard: int,
        prefetch: int,
        batch_size: int,
        no_relay: bool,
        metrics_port: int | None,
        metrics_address: str,
        **options,
    ) -> None:
        shards = settings.ACCOUNT_EVENT_SHARDS
        if not 0 <= shard < shards:
            raise CommandError(f"--shard must be between 0 and {shards - 1} (ACCOUNT_EVENT_SHARDS={shards})")
        if metrics_port is not None:
            try:
                metrics.serve(port=metrics_port, address=metrics_address, shard=shard, shards=shards)
            except OSError as exc:
                raise CommandError(
                    f"cannot serve metrics on {metrics_address}:{metrics_port}: {exc}"
                ) from None
        tracing.configure_from_environment("remit-worker")
        worker = bootstrap.worker(shard=shard, prefetch=prefetch, batch_size=batch_size, relay=not no_relay)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.stop())
        freeze_startup_objects()
        applied = worker.run()
        log.info("stopped after applying %s events", applied)  # a log line like every other: JSON
        if worker.relay_failed:
            raise CommandError("the outbox relay failed (see the log); restart the worker")
