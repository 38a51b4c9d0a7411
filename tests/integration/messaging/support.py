"""What the broker tests share: one relay pass, a consumer run for a while, and raw queue access."""

from __future__ import annotations

import threading

import pika
from django.conf import settings

from config import bootstrap
from messaging.consumer import EventConsumer
from messaging.publisher import ConfirmingPublisher
from messaging.relay import OutboxRelay
from messaging.schema import EXCHANGE


def relay_once() -> int:
    """Publish one batch of the outbox of the only shard; how many messages."""
    publisher = ConfirmingPublisher(settings.RABBITMQ_URL, shards=1)
    publisher.open()
    try:
        return OutboxRelay(url=settings.RABBITMQ_URL, shard=0, shards=1, stop=threading.Event()).relay_once(
            publisher
        )
    finally:
        publisher.close()


def consume_for(seconds: float, *, until_applied: int | None = None) -> EventConsumer:
    """Run the only shard's consumer for `seconds`, or until it has applied `until_applied` events."""
    stop = threading.Event()
    consumer = EventConsumer(
        url=settings.RABBITMQ_URL,
        shard=0,
        shards=1,
        stop=stop,
        ledger=bootstrap.ledger_store(),
        cache=bootstrap.limit_cache(),
    )
    thread = threading.Thread(target=consumer.run)
    thread.start()
    if until_applied is None:
        stop.wait(seconds)
    else:
        for _ in range(int(seconds * 10)):
            if consumer.applied >= until_applied:
                break
            stop.wait(0.1)
    stop.set()
    thread.join()
    return consumer


def publish_raw(channel, body: bytes, routing_key: str = "account.deposit") -> None:
    channel.basic_publish(
        EXCHANGE, routing_key, body, properties=pika.BasicProperties(delivery_mode=2), mandatory=True
    )


def queued(channel, queue: str) -> list[tuple]:
    """Take every message from a queue (quorum queues with one active consumer refuse basic.get)."""
    messages = []
    for method, properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.5):
        if method is None:
            break
        messages.append((method, properties, body))
    channel.cancel()
    return messages
