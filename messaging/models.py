"""The transactional outbox: messages committed with their event, relayed to RabbitMQ, then deleted."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models

from messaging.schema import REQUEST_ID_HEADER, EventMessage, message_headers, shard_key
from telemetry import context, tracing
from transfers.domain.model import EventType


class OutboxMessage(models.Model):
    """A message waiting for the relay. Its shard is worked out when it is relayed, from
    `shard_key` and the shard count in force then, so resharding never strands a message."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=10, choices=[(t.value, t.value) for t in EventType])
    shard_key = models.BigIntegerField(help_text="shard_key() of the account the event is ordered by.")
    body = models.BinaryField(help_text="The message exactly as it is published.")
    headers = models.JSONField(
        default=dict, db_default={}, help_text="Its AMQP headers: request id, account, trace context."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

    @classmethod
    def for_event(
        cls,
        *,
        event_id: uuid.UUID,
        event_type: EventType,
        account_id: uuid.UUID,
        accepted_at: dt.datetime,
        request_id: str | None = None,
    ) -> OutboxMessage:
        """The message for an event, ordered with `account_id`: the account the money leaves (or a
        deposit's). Its headers carry the request id (by default the current request's) and the
        current trace context, so that the relay and the worker log and trace it as that request's."""
        return cls(
            event_id=event_id,
            event_type=event_type.value,
            shard_key=shard_key(account_id),
            body=EventMessage(event_id=event_id, type=event_type).encode(),
            headers=message_headers(
                request_id=context.request_id.get() if request_id is None else request_id,
                account_id=account_id,
                accepted_at=accepted_at,
                trace=tracing.current_context_headers(),
            ),
        )

    @property
    def request_id(self) -> str:
        return self.headers.get(REQUEST_ID_HEADER) or ""


class DeadLetter(models.Model):
    """A message taken out of the dead-letter queue into the database, where ops can see it with its
    event and why no worker could apply it (it is committed here before it is acknowledged there, so
    it is never lost on the way). Discarding one keeps the row, with who discarded it and why."""

    id = models.BigAutoField(primary_key=True)
    message_id = models.CharField(max_length=200, blank=True, default="")
    body = models.BinaryField()
    event_id = models.UUIDField(null=True, blank=True, help_text="The event it names, if it names one.")
    reason = models.TextField(help_text="Why no worker could apply it.")
    broker_reason = models.CharField(
        max_length=40, blank=True, default="", help_text="RabbitMQ's x-death reason."
    )
    dead_lettered_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(auto_now_add=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discard_reason = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"dead letter {self.message_id or self.id}"
