"""The account-event message, version 2: what the outbox stores and RabbitMQ carries (see README)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from transfers.domain.model import EventType

EXCHANGE = "account.events"
VERSION = 2
# Version 1 also carried the account, counterparty, amount and currency, which the worker never
# used (it applies the event as PostgreSQL holds it); it is still read, for messages in flight.
_READABLE = (1, 2)


class PoisonMessage(ValueError):
    """A message no worker can ever apply: undecodable, or of an unknown type or version."""


@dataclass(frozen=True)
class EventMessage:
    """What the worker needs to hear of an accepted event: which one, and its type."""

    event_id: uuid.UUID
    type: EventType

    def encode(self) -> bytes:
        return json.dumps(
            {"version": VERSION, "event_id": str(self.event_id), "type": self.type.value},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> EventMessage:
        """Raises PoisonMessage for anything but a well-formed event message of a known version;
        fields it does not know are ignored."""
        try:
            data = json.loads(body)
            if data["version"] not in _READABLE:
                raise PoisonMessage(f"unknown version {data['version']!r}")
            return cls(event_id=uuid.UUID(data["event_id"]), type=EventType(data["type"]))
        except PoisonMessage:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PoisonMessage(f"undecodable message: {exc!r}") from None


# AMQP headers of a message (beside the body, which stays what the README documents): who asked for
# the event, whose it is, when it was accepted, and the W3C trace context (`traceparent`, ...).
REQUEST_ID_HEADER = "x-request-id"
ACCOUNT_HEADER = "x-account"
ACCEPTED_AT_HEADER = "x-accepted-at"


def message_headers(
    *, request_id: str | None, account_id: uuid.UUID, accepted_at: dt.datetime, trace: dict[str, str]
) -> dict[str, str]:
    headers = {ACCOUNT_HEADER: str(account_id), ACCEPTED_AT_HEADER: accepted_at.isoformat(), **trace}
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    return headers


@dataclass(frozen=True)
class MessageMetadata:
    """What a message's headers say about its event; every field may be missing (older messages)."""

    request_id: str | None = None
    account: str | None = None
    accepted_at: dt.datetime | None = None

    @classmethod
    def from_headers(cls, headers: dict | None) -> MessageMetadata:
        if not headers:
            return cls()
        accepted_at = headers.get(ACCEPTED_AT_HEADER)
        try:
            accepted = dt.datetime.fromisoformat(accepted_at) if isinstance(accepted_at, str) else None
        except ValueError:
            accepted = None
        request_id, account = headers.get(REQUEST_ID_HEADER), headers.get(ACCOUNT_HEADER)
        return cls(
            request_id=request_id if isinstance(request_id, str) else None,
            account=account if isinstance(account, str) else None,
            accepted_at=accepted,
        )


def shard_key(account_id: uuid.UUID) -> int:
    """A stable, evenly spread number for an account (63 bits, to fit PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.blake2b(account_id.bytes, digest_size=8).digest()) >> 1


def shard_of(account_id: uuid.UUID, shards: int) -> int:
    """The queue an account's events go to with `shards` queues."""
    return shard_key(account_id) % max(shards, 1)


# The contract's routing keys: wire names, so they live with the wire format, not in the core.
ROUTING_KEYS = {
    EventType.DEPOSIT: "account.deposit",
    EventType.WITHDRAWAL: "account.withdraw",
    EventType.TRANSFER: "account.transfer",
    EventType.REVERSAL: "account.reversal",
}


def routing_key(event_type: EventType, shard: int, shards: int) -> str:
    key = ROUTING_KEYS[event_type]
    return key if shards <= 1 else f"{key}.{shard}"
