"""The transactional outbox: messages committed with their event, relayed to RabbitMQ, then deleted."""

from __future__ import annotations

import uuid

from django.db import models

from messaging.schema import VERSION, EventMessage, routing_key, shard_of
from transfers.domain.model import EventType


class OutboxMessage(models.Model):
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField()
    routing_key = models.CharField(max_length=64)
    shard = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(help_text="The message exactly as it is published.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["shard", "id"], name="outbox_shard_order")]

    def __str__(self) -> str:
        return f"{self.routing_key} {self.event_id}"

    @classmethod
    def for_event(
        cls,
        *,
        event_id: uuid.UUID,
        event_type: EventType,
        account_id: uuid.UUID,
        counterparty_id: uuid.UUID | None,
        amount: int,
        currency: str,
        shards: int,
    ) -> OutboxMessage:
        """The message for an event, routed to the shard of the account the money leaves or enters."""
        shard = shard_of(account_id, shards)
        message = EventMessage(
            version=VERSION,
            event_id=event_id,
            type=event_type,
            account=account_id,
            counterparty=counterparty_id,
            amount=amount,
            currency=currency,
        )
        return cls(
            event_id=event_id,
            routing_key=routing_key(event_type, shard, shards),
            shard=shard,
            body=message.encode(),
        )
