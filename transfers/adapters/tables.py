"""The other apps' tables that the core's stores write in their own statements: declared ports.

Accepting commits the limit reservation, the event and its outbox message in one statement, and
applying writes a batch's balances and journal rows in one round trip: that is why these writes
cross app lines. Each app implements its port beside its models (`accounts/tables.py`,
`ledger/tables.py`, `messaging/outbox.py`); `config/bootstrap.py` hands them to the stores, so
nothing in `transfers` imports another app. The SQL columns the stores name are part of each port.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from transfers.domain.model import Account, AccountStatus, EventType
from transfers.domain.money import Currency


class AccountTable(Protocol):
    """accounts' table: `id`, `kind`, `balance`, `status`; the stores set balances in their
    statements, and open, close and lock accounts through these methods (same connection, same
    transaction)."""

    name: str

    def customers(self, account_ids: Sequence[uuid.UUID]) -> list[Account]:
        """The customer accounts among these ids."""
        ...

    def lock(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
        """These accounts (customers or settlement), locked in id order until the transaction ends."""
        ...

    def open(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account: ...

    def mark_closed(self, account_id: uuid.UUID) -> Account:
        """Set a locked account's status to closed, now."""
        ...

    def set_status(self, account_id: uuid.UUID, status: AccountStatus) -> Account:
        """Set a locked account's status (active or frozen)."""
        ...

    def settlement_ids(self) -> dict[Currency, uuid.UUID]:
        """The settlement account of every currency, created on first use."""
        ...


class JournalTable(Protocol):
    """ledger's journal: the ledger store appends rows (`transaction_id`, `account_id`, `type`,
    `amount`, `balance_after`, `counterparty_id`, `created_at`) in its batch statements."""

    name: str


class OutboxRow(NamedTuple):
    shard_key: int
    body: bytes
    headers: dict
    """Its AMQP headers: the request id, the account, the acceptance time, the trace context."""
    request_id: str


class OutboxTable(Protocol):
    """messaging's outbox (`event_id`, `event_type`, `shard_key`, `body`, `headers`, `created_at`):
    the accepting statement inserts the event's message; messaging alone knows its format."""

    name: str

    def message(
        self, *, event_id: uuid.UUID, event_type: EventType, account_id: uuid.UUID, accepted_at: dt.datetime
    ) -> OutboxRow:
        """The row of an event's message, ordered with `account_id`: the account the money leaves
        (or a deposit's), carrying the current request's id and trace context."""
        ...
