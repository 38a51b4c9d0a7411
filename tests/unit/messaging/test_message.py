"""The event message: what the worker reads of it, and what it refuses as poison."""

from __future__ import annotations

import json
import uuid

import pytest

from messaging.schema import EventMessage, PoisonMessage
from transfers.domain.model import EventType

EVENT = uuid.uuid4()


def test_a_message_carries_its_version_event_and_type_and_reads_back():
    message = EventMessage(event_id=EVENT, type=EventType.TRANSFER)

    assert json.loads(message.encode()) == {"version": 2, "event_id": str(EVENT), "type": "transfer"}
    assert EventMessage.decode(message.encode()) == message


def test_a_version_1_message_in_flight_is_still_read_and_its_extra_fields_ignored():
    body = {"version": 1, "event_id": str(EVENT), "type": "deposit", "account": str(uuid.uuid4()),
            "counterparty": None, "amount_minor": 5, "currency": "KRW", "later_field": True}  # fmt: skip

    assert EventMessage.decode(json.dumps(body).encode()) == EventMessage(EVENT, EventType.DEPOSIT)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff not json",
        b"[]",
        json.dumps({"version": 3, "event_id": str(EVENT), "type": "deposit"}).encode(),
        json.dumps({"version": 2, "event_id": "not-a-uuid", "type": "deposit"}).encode(),
        json.dumps({"version": 2, "event_id": str(EVENT), "type": "gift"}).encode(),
        json.dumps({"version": 2, "type": "deposit"}).encode(),
    ],
    ids=["undecodable", "not-an-object", "unknown-version", "bad-id", "unknown-type", "no-id"],
)
def test_what_no_worker_can_apply_is_poison(body: bytes):
    with pytest.raises(PoisonMessage):
        EventMessage.decode(body)
