"""The relay and the consumer against the real RabbitMQ: confirms, ordering, dead letters."""

from __future__ import annotations

import json
import uuid

import pytest

from messaging.models import OutboxMessage
from messaging.topology import DEAD_LETTER_QUEUE, apply_queue
from tests.integration.messaging.support import consume_for, publish_raw, queued, relay_once
from tests.support import bank
from transfers.domain.model import EventType
from transfers.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _accept_deposit(amount: str = "1000") -> uuid.UUID:
    caller = bank.new_caller()
    return bank.accept(caller, EventType.DEPOSIT, bank.open_account(caller).id, amount)


def test_the_relay_publishes_outbox_messages_persistently_in_order_then_deletes_them(channel):
    first, second = _accept_deposit(), _accept_deposit()

    relayed = relay_once()
    messages = queued(channel, apply_queue(0, 1))

    assert relayed == 2
    assert not OutboxMessage.objects.filter(event_id__in=[first, second]).exists()
    assert [properties.message_id for _, properties, _ in messages] == [str(first), str(second)]
    assert {properties.delivery_mode for _, properties, _ in messages} == {2}
    assert {method.routing_key for method, _, _ in messages} == {"account.deposit"}
    body = json.loads(messages[0][2])
    assert (body["version"], body["event_id"], body["type"]) == (2, str(first), "deposit")


def test_poison_messages_are_dead_lettered_and_do_not_block_the_events_behind_them(channel):
    publish_raw(channel, b"\xff not json")
    publish_raw(channel, json.dumps({"version": 99, "event_id": str(uuid.uuid4())}).encode())
    publish_raw(channel, json.dumps({"version": 1, "event_id": str(uuid.uuid4()), "type": "gift"}).encode())
    deposit = _accept_deposit()
    relay_once()

    consume_for(2.0)

    dead = queued(channel, DEAD_LETTER_QUEUE)
    assert len(dead) == 3
    assert Event.objects.get(event_id=deposit).status == "completed"


def test_a_message_for_an_event_that_does_not_exist_is_dead_lettered(channel):
    stranger = uuid.uuid4()
    publish_raw(
        channel,
        json.dumps(
            {
                "version": 1,
                "event_id": str(stranger),
                "type": "deposit",
                "account": str(uuid.uuid4()),
                "counterparty": None,
                "amount_minor": 5,
                "currency": "KRW",
            }
        ).encode(),
    )

    consume_for(1.5)

    dead = queued(channel, DEAD_LETTER_QUEUE)
    assert [json.loads(body)["event_id"] for _, _, body in dead] == [str(stranger)]
