"""Fixtures of the broker tests: a channel on the test vhost, its queues emptied first."""

from __future__ import annotations

import pytest
from django.conf import settings

from messaging.connection import connect
from messaging.topology import DEAD_LETTER_QUEUE, apply_queue


@pytest.fixture
def channel():
    """A channel on the test vhost, the worker queue and the dead-letter queue emptied first."""
    broker = connect(settings.RABBITMQ_URL, shards=1)
    channel = broker.channel()
    channel.queue_purge(apply_queue(0, 1))
    channel.queue_purge(DEAD_LETTER_QUEUE)
    yield channel
    broker.close()
