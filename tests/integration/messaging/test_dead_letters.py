"""Dead letters taken into the database: each with its event and why, never lost on the way."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from messaging.dead_letters import take_dead_letters
from messaging.models import DeadLetter
from messaging.topology import DEAD_LETTER_QUEUE
from tests.integration.messaging.support import consume_for, publish_raw, queued
from transfers.models import AuditRecord

pytestmark = pytest.mark.django_db(transaction=True)


def test_dead_letters_are_taken_with_their_event_and_reason_then_discarded_with_a_reason(channel) -> None:
    stranger = uuid.uuid4()
    publish_raw(channel, b"\xff not json")
    publish_raw(channel, json.dumps({"version": 2, "event_id": str(stranger), "type": "deposit"}).encode())
    consume_for(2.0)

    taken = take_dead_letters()
    letters = list(DeadLetter.objects.order_by("id"))

    assert taken == 2
    assert queued(channel, DEAD_LETTER_QUEUE) == []  # taken out, and into the database
    assert letters[0].event_id is None
    assert "undecodable" in letters[0].reason
    assert (letters[1].event_id, letters[1].reason, letters[1].broker_reason) == (
        stranger,
        "no such event",
        "rejected",
    )

    ops = Client()
    ops.force_login(User.objects.create_user("ops-sub", is_staff=True))
    page = ops.get("/admin/messaging/outboxmessage/stuck/").content.decode()
    refused = ops.post(
        f"/admin/messaging/outboxmessage/stuck/dead-letters/{letters[0].id}/discard/", {"reason": ""}
    )
    ops.post(
        f"/admin/messaging/outboxmessage/stuck/dead-letters/{letters[0].id}/discard/", {"reason": "garbage"}
    )

    assert str(stranger)[:8] in page
    assert "no such event" in page
    assert refused.status_code == 302
    discarded = DeadLetter.objects.get(id=letters[0].id)
    assert (discarded.discard_reason, discarded.discarded_by.username) == ("garbage", "ops-sub")
    assert AuditRecord.objects.filter(action="dead_letter_discarded", reason="garbage").count() == 1
