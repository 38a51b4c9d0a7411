"""A RABBITMQ_URL naming several nodes: every process takes the first node that answers."""

from __future__ import annotations

import pytest
from django.conf import settings
from pika.exceptions import AMQPConnectionError

from messaging.connection import connect_first_answering
from messaging.health import broker_is_reachable
from messaging.publisher import ConfirmingPublisher, Outgoing
from tests.support.processes import free_port

# Nothing listens there: a node that went away.
GONE = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"


def test_a_process_skips_a_node_that_is_gone_and_connects_to_the_next():
    connection, node = connect_first_answering(f"{GONE},{settings.RABBITMQ_URL}", shards=1)

    try:
        assert connection.is_open
        assert (node.host, node.port, node.virtual_host) == (
            "127.0.0.1",
            5672,
            settings.RABBITMQ_URL.rsplit("/", 1)[1],
        )
    finally:
        connection.close()


def test_no_node_answering_is_a_connection_error_naming_them():
    with pytest.raises(AMQPConnectionError, match="no RabbitMQ node answers"):
        connect_first_answering(f"{GONE},{GONE}", shards=1)


def test_the_relay_publishes_through_the_first_node_that_answers(channel):
    publisher = ConfirmingPublisher(f"{GONE},{settings.RABBITMQ_URL}", shards=1)
    publisher.open()
    try:
        publisher.publish([Outgoing("account.deposit", b"{}", "m-1")])
    finally:
        publisher.close()

    assert channel.queue_declare("account.events.apply", passive=True).method.message_count == 1


def test_readiness_counts_the_broker_up_while_any_node_answers():
    assert broker_is_reachable(f"{GONE},{settings.RABBITMQ_URL}")
    assert not broker_is_reachable(f"{GONE},{GONE}")
