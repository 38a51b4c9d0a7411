"""The RabbitMQ topology, declared idempotently by every process that uses it."""

from __future__ import annotations

from messaging.schema import EXCHANGE, routing_key
from transfers.domain.model import EventType

DEAD_LETTER_EXCHANGE = "account.events.dead-letter"
DEAD_LETTER_QUEUE = "account.events.dead"


def apply_queue(shard: int, shards: int) -> str:
    """The worker queue of one shard; with a single shard its name carries no number."""
    return "account.events.apply" if shards <= 1 else f"account.events.apply.{shard}"


def declare(channel, *, shards: int) -> None:
    """Declare the exchange, every shard's quorum queue and bindings, and the dead-letter queue."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE)
    for shard in range(max(shards, 1)):
        queue = apply_queue(shard, shards)
        channel.queue_declare(
            queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                # One consumer at a time keeps an account's events in order; others wait as standby.
                "x-single-active-consumer": True,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            },
        )
        for event_type in EventType:
            channel.queue_bind(queue, EXCHANGE, routing_key=routing_key(event_type, shard, shards))
