"""Taking dead letters out of RabbitMQ into the database, where the admin shows them.

Looking at a message in a quorum queue without taking it counts toward its delivery limit, so the
admin never peeks: it takes each message, commits its row, and only then acknowledges it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from messaging.connection import connect
from messaging.models import DeadLetter
from messaging.schema import EventMessage, PoisonMessage
from messaging.topology import DEAD_LETTER_QUEUE
from transfers.models import Event


def describe(body: bytes, properties) -> dict:
    """The row of a dead letter: the event it names and why it could not be applied."""
    headers = getattr(properties, "headers", None) or {}
    deaths = headers.get("x-death") or [{}]
    death = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    broker_reason = death.get("reason", b"")
    when = death.get("time")
    row = {
        "message_id": str(getattr(properties, "message_id", "") or "")[:200],
        "body": body,
        "broker_reason": (broker_reason.decode() if isinstance(broker_reason, bytes) else str(broker_reason))[
            :40
        ],
        "dead_lettered_at": when if isinstance(when, dt.datetime) else None,
        "event_id": None,
    }
    try:
        message = EventMessage.decode(body)
    except PoisonMessage as poison:
        row["reason"] = str(poison)
        return row
    row["event_id"] = message.event_id
    status = Event.objects.filter(event_id=message.event_id).values_list("status", flat=True).first()
    row["reason"] = (
        "no such event"
        if status is None
        else f"the event exists ({status}); the message was refused, perhaps before the event committed"
    )
    return row


def take_dead_letters(limit: int = 500) -> int:
    """Move up to `limit` dead letters into the database; returns how many were taken."""
    broker = connect(settings.RABBITMQ_URL, shards=settings.ACCOUNT_EVENT_SHARDS)
    taken = 0
    try:
        channel = broker.channel()
        while taken < limit:
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                break
            DeadLetter.objects.create(**describe(body, properties))  # committed before the ack
            channel.basic_ack(method.delivery_tag)
            taken += 1
    finally:
        broker.close()
    return taken
