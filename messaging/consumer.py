"""The account-event consumer: applies each delivery batch in one transaction, acks only after commit."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.db import DatabaseError
from django.db import connection as db

from messaging.connection import Backoff, connect, run_until_stopped
from messaging.schema import EventMessage, MessageMetadata, PoisonMessage
from messaging.topology import apply_queue
from telemetry import metrics, tracing
from transfers import services
from transfers.models import Event
from transfers.ports import LedgerStore, LimitCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    tag: int
    body: bytes
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Applying:
    """What the batch's messages said about one event: for its log line, metrics and span."""

    type: str
    metadata: MessageMetadata
    headers: dict


class EventConsumer:
    """Consumes one shard's queue; whatever has arrived when it looks is one batch.

    A light load makes batches of one (low latency); a backlog makes batches of up to
    `batch_size` (one commit for many events), while up to `prefetch` messages keep arriving
    during the commit. Poison messages go to the dead-letter queue.
    """

    def __init__(
        self,
        *,
        url: str,
        shard: int,
        shards: int,
        ledger: LedgerStore,
        cache: LimitCache,
        stop: threading.Event,
        prefetch: int = 2000,
        batch_size: int = 500,
    ) -> None:
        self._url = url
        self._shard = shard
        self._queue = apply_queue(shard, shards)
        self._shards = shards
        self._ledger = ledger
        self._cache = cache
        self._stop = stop
        self._prefetch = prefetch
        self._batch_size = batch_size
        self.applied = 0

    def run(self) -> None:
        run_until_stopped(self._run_session, stop=self._stop, name=f"consumer of {self._queue}")

    def _run_session(self, backoff: Backoff) -> None:
        broker = connect(self._url, shards=self._shards, name=f"remit consumer of {self._queue}")
        buffer: list[Delivery] = []
        up = metrics.consumer_up.labels(self._shard)
        try:
            channel = broker.channel()
            channel.basic_qos(prefetch_count=self._prefetch)
            channel.basic_consume(
                self._queue,
                on_message_callback=lambda _ch, method, props, body: buffer.append(
                    Delivery(method.delivery_tag, body, props.headers or {})
                ),
            )
            log.info("consuming %s", self._queue)
            up.set(1)
            while not self._stop.is_set():
                broker.process_data_events(time_limit=0.5)
                while buffer and not self._stop.is_set():
                    broker.process_data_events(time_limit=0)
                    batch, buffer[:] = buffer[: self._batch_size], buffer[self._batch_size :]
                    self._handle(broker, channel, batch, backoff)
        finally:
            up.set(0)
            # Closing returns unacknowledged messages to the queue, in order.
            if broker.is_open:
                broker.close()

    def _handle(self, broker, channel, batch: list[Delivery], backoff: Backoff) -> None:
        by_event: dict[uuid.UUID, list[int]] = {}
        applying: dict[uuid.UUID, _Applying] = {}
        for delivery in batch:
            try:
                message = EventMessage.decode(delivery.body)
            except PoisonMessage as exc:
                log.error("dead-lettering message %s: %s", delivery.tag, exc)
                metrics.dead_letters.labels("undecodable").inc()
                channel.basic_nack(delivery.tag, requeue=False)
                continue
            by_event.setdefault(message.event_id, []).append(delivery.tag)
            applying[message.event_id] = _Applying(
                message.type.value, MessageMetadata.from_headers(delivery.headers), delivery.headers
            )
        if not by_event:
            return
        started = dt.datetime.now(dt.UTC)
        result = self._apply(broker, list(by_event), backoff)
        if result is None:  # stopping: the unacked deliveries return to the queue as the connection closes
            return
        self.applied += len(result.outcomes)
        metrics.apply_batch_size.observe(len(by_event))
        self._report(result, applying, started)
        if result.parked:
            metrics.events_parked.inc(len(result.parked))
            log.error(
                "event refused by the database, its account parked; see `manage.py stuck`, and after "
                "fixing the cause `manage.py replay_events --parked`",
                extra={"each": [self._ids(event_id, applying) for event_id in result.parked]},
            )
        for event_id in result.unknown:
            log.error(
                "dead-lettering the message of event %s: no such event",
                event_id,
                extra={"event_id": str(event_id)},
            )
            metrics.dead_letters.labels("unknown_event").inc(len(by_event[event_id]))
            for tag in by_event.pop(event_id):
                channel.basic_nack(tag, requeue=False)
        # Parked and held events stay pending in PostgreSQL, which replays them: their messages are done.
        if by_event:
            # Everything earlier on this channel is settled: one ack covers the rest of the batch.
            channel.basic_ack(max(max(tags) for tags in by_event.values()), multiple=True)

    def _apply(self, broker, event_ids: list[uuid.UUID], backoff: Backoff) -> services.AppliedBatch | None:
        """Apply the events; while the database cannot, try again after a back-off, the deliveries
        kept unacked and the broker's heartbeats answered. Nothing returns to the queue meanwhile:
        a quorum queue counts returns against its delivery limit (RabbitMQ 4 dead-letters past 20).
        None if the worker is told to stop first."""
        while not self._stop.is_set():
            try:
                result = services.apply_events(event_ids=event_ids, ledger=self._ledger, cache=self._cache)
            except DatabaseError as exc:
                metrics.apply_retries.inc()
                log.warning(
                    "the database cannot apply a batch of %s events, trying again: %r", len(event_ids), exc
                )
                db.close()
                backoff.wait(sleep=lambda seconds: _sleep_serving(broker, seconds, self._stop))
                continue
            # Only a committed batch proves the database healthy again.
            backoff.reset()
            return result
        return None

    def _report(self, result: services.AppliedBatch, applying: dict[uuid.UUID, _Applying], started) -> None:
        """One log line, one count and one lag per event made final; a span each when tracing."""
        if not result.outcomes:
            return
        committed = dt.datetime.now(dt.UTC)
        missing = [o.event_id for o in result.outcomes if o.event_id not in applying]
        if missing:  # earlier events of an account, applied before their own messages came
            applying = applying | _applying_from_database(missing)
        lines: list[dict] | None = [] if log.isEnabledFor(logging.INFO) else None
        final: Counter[tuple[str, str, str]] = Counter()  # counted once per label set, not per event
        lag = metrics.event_apply_lag
        for outcome in result.outcomes:
            about = applying.get(outcome.event_id) or _Applying("unknown", MessageMetadata(), {})
            status, reason = outcome.status.value, outcome.reason
            final[about.type, status, reason or ""] += 1
            if about.metadata.accepted_at is not None:
                lag.observe((committed - about.metadata.accepted_at).total_seconds())
            if lines is not None:
                lines.append(
                    {
                        "event_id": str(outcome.event_id),
                        "account": about.metadata.account,
                        "request_id": about.metadata.request_id,
                        "type": about.type,
                        "status": status,
                        "reason": reason,
                    }
                )
            if tracing.enabled():
                tracing.record_consumer_span(
                    f"apply {about.type}",
                    about.headers,
                    start=started,
                    end=committed,
                    **{"messaging.message.id": str(outcome.event_id), "remit.event.status": status},
                )
        for labels, count in final.items():
            metrics.events_final.labels(*labels).inc(count)
        if lines is not None:
            log.info("event applied", extra={"shard": self._shard, "each": lines})

    @staticmethod
    def _ids(event_id: uuid.UUID, applying: dict[uuid.UUID, _Applying]) -> dict:
        about = applying.get(event_id)
        metadata = about.metadata if about else MessageMetadata()
        return {"event_id": str(event_id), "account": metadata.account, "request_id": metadata.request_id}


def _applying_from_database(event_ids: list[uuid.UUID]) -> dict[uuid.UUID, _Applying]:
    """What the messages would have said of these committed events; nothing if the database is gone
    (their lines and counts then say `unknown`: the batch is committed, and must be acked)."""
    try:
        rows = list(
            Event.objects.filter(event_id__in=event_ids).values_list(
                "event_id", "type", "account_id", "request_id", "created_at"
            )
        )
    except DatabaseError as exc:
        log.warning("cannot read %s applied events for their log lines: %r", len(event_ids), exc)
        return {}
    return {
        event_id: _Applying(kind, MessageMetadata(request_id or None, str(account_id), created_at), {})
        for event_id, kind, account_id, request_id, created_at in rows
    }


def _sleep_serving(broker, seconds: float, stop: threading.Event) -> None:
    """Sleep while answering the broker's heartbeats (deliveries that arrive meanwhile are buffered)."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
        broker.sleep(min(remaining, 0.25))
