"""The transactional outbox: messages committed with their event, relayed to RabbitMQ, then deleted."""

from __future__ import annotations

from django.db import models


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
