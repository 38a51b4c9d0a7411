"""The outbox as the accepting statement sees it: transfers.adapters.tables.OutboxTable."""

from __future__ import annotations

import datetime as dt
import uuid

from messaging.models import OutboxMessage
from transfers.adapters.tables import OutboxRow
from transfers.domain.model import EventType


class DjangoOutboxTable:
    name = OutboxMessage._meta.db_table

    def message(
        self, *, event_id: uuid.UUID, event_type: EventType, account_id: uuid.UUID, accepted_at: dt.datetime
    ) -> OutboxRow:
        message = OutboxMessage.for_event(
            event_id=event_id, event_type=event_type, account_id=account_id, accepted_at=accepted_at
        )
        return OutboxRow(message.shard_key, bytes(message.body), message.headers, message.request_id)
