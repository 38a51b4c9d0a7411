"""The outbox relay: publishes committed messages in order, with publisher confirms, then deletes them."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import zlib
from contextlib import ExitStack

from django.db import connection

from messaging.connection import Backoff, run_until_stopped
from messaging.models import OutboxMessage
from messaging.publisher import ConfirmingPublisher, Outgoing
from messaging.schema import ACCOUNT_HEADER, REQUEST_ID_HEADER, routing_key
from telemetry import metrics, tracing
from transfers.domain.model import EventType

log = logging.getLogger(__name__)

RELAY_LOCK = zlib.crc32(b"remit-outbox-relay") - 2**31
# Ten times the relay's longest silence (a poll, 1 s); also covers opening the broker connection
# (5 s socket timeout) after taking the lock.
_IDLE_SESSION_TIMEOUT = "10s"
_OUTBOX = OutboxMessage._meta.db_table


class OutboxRelay:
    """Relays one shard's outbox. One relay per shard holds an advisory lock; any other waits.

    A message's shard is `shard_key mod ACCOUNT_EVENT_SHARDS` as configured now, so after a
    change of the shard count every message still waiting is relayed by the relay that owns it.

    A message is deleted only after RabbitMQ confirmed it, so a crash can only publish a
    message twice (the worker skips the duplicate), never lose one.
    """

    def __init__(
        self,
        *,
        url: str,
        shard: int,
        shards: int,
        stop: threading.Event,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
    ) -> None:
        self._url = url
        self._shard = shard
        self._shards = shards
        self._stop = stop
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._standing_by = False

    def run(self) -> None:
        run_until_stopped(self._run_session, stop=self._stop, name=f"outbox relay of shard {self._shard}")

    def _run_session(self, backoff: Backoff) -> None:
        with connection.cursor() as cursor:
            # The lock lives as long as this session. The relay speaks at least once a poll, so a
            # session silent for longer belongs to a frozen or cut-off worker: PostgreSQL ends it,
            # and a standby takes the lock (even through a proxy that keeps the socket open).
            cursor.execute("SELECT set_config('idle_session_timeout', %s, false)", [_IDLE_SESSION_TIMEOUT])
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RELAY_LOCK, self._shard])
            if not cursor.fetchone()[0]:
                if not self._standing_by:
                    log.info("another relay serves shard %s; standing by", self._shard)
                self._standing_by = True
                self._stop.wait(self._poll_seconds * 2)
                return
            cursor.execute("LISTEN remit_outbox")
        log.info("relaying the outbox of shard %s", self._shard)
        self._standing_by = False
        publisher = ConfirmingPublisher(
            self._url, shards=self._shards, name=f"remit relay of shard {self._shard}"
        )
        up = metrics.relay_up.labels(self._shard)
        try:
            publisher.open()
            up.set(1)
            backoff.reset()
            while not self._stop.is_set():
                if self.relay_once(publisher) < self._batch_size:
                    self._wait_for_commit()
                publisher.service()
        finally:
            up.set(0)
            publisher.close()
            connection.close()

    def relay_once(self, publisher: ConfirmingPublisher) -> int:
        """Publish up to one batch of this shard's outbox, oldest first; return how many."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, event_id, event_type, body, headers FROM {_OUTBOX}"
                f" WHERE mod(shard_key, %s) = %s ORDER BY id LIMIT %s",
                [self._shards, self._shard, self._batch_size],
            )
            rows = cursor.fetchall()
            if rows:
                key = {kind: routing_key(kind, self._shard, self._shards) for kind in EventType}
                messages = [
                    # Django has psycopg hand jsonb over as text (its JSONField decodes it).
                    Outgoing(key[EventType(kind)], bytes(body), str(event_id), json.loads(headers))
                    for _, event_id, kind, body, headers in rows
                ]
                with ExitStack() as spans:
                    if tracing.enabled():
                        messages = [self._traced(message, spans) for message in messages]
                    metrics.relay_published.labels(self._shard).inc(len(messages))
                    publisher.publish(messages)
                metrics.relay_confirmed.labels(self._shard).inc(len(messages))
                cursor.execute(f"DELETE FROM {_OUTBOX} WHERE id = ANY(%s)", [[row[0] for row in rows]])
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "event relayed",
                        extra={
                            "shard": self._shard,
                            "each": [
                                {
                                    "event_id": m.message_id,
                                    "account": m.headers.get(ACCOUNT_HEADER),
                                    "request_id": m.headers.get(REQUEST_ID_HEADER),
                                    "routing_key": m.routing_key,
                                }
                                for m in messages
                            ],
                        },
                    )
        return len(rows)

    @staticmethod
    def _traced(message: Outgoing, spans: ExitStack) -> Outgoing:
        """The message with its headers' trace context replaced by a publish span's (open until
        `spans` closes), child of the request that accepted the event, whose context the outbox
        row kept."""
        trace_headers = spans.enter_context(
            tracing.producer_span(
                f"publish {message.routing_key}",
                message.headers,
                **{"messaging.system": "rabbitmq", "messaging.message.id": message.message_id},
            )
        )
        return dataclasses.replace(message, headers={**message.headers, **trace_headers})

    def _wait_for_commit(self) -> None:
        """Wait until a message of this shard is committed (the API notifies with its shard key).

        Notifications that arrived meanwhile are taken together, so one query serves them all;
        the timeout also covers a notification that was lost.
        """
        deadline = time.monotonic() + self._poll_seconds
        with connection.wrap_database_errors:
            while (remaining := deadline - time.monotonic()) > 0:
                first = list(connection.connection.notifies(timeout=remaining, stop_after=1))
                waiting = first + list(connection.connection.notifies(timeout=0))
                if any(self._is_mine(n.payload) for n in waiting):
                    return

    def _is_mine(self, payload: str) -> bool:
        return not payload.isdigit() or int(payload) % self._shards == self._shard
