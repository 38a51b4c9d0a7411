"""Accounts as the core sees them, movement commands, events and how an event is applied."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from transfers.domain import errors
from transfers.domain.money import Currency


class EventType(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"

    @property
    def is_outgoing(self) -> bool:
        """Whether the event takes money out of its source account (and so counts toward its limit)."""
        return self is not EventType.DEPOSIT


class EventStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REJECTED = "rejected"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class EntryType(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    SETTLEMENT = "settlement"


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user id, and whether they hold the `ops` role."""

    user_id: int
    is_ops: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's Idempotency-Key, scoped to its user, method and path."""

    user_id: int
    scope: str
    key: str


@dataclass(frozen=True)
class Account:
    """An account's state as the core needs it to accept or apply a movement."""

    id: uuid.UUID
    owner_id: int | None
    currency: Currency
    balance: int
    daily_limit: int
    status: AccountStatus

    @property
    def is_closed(self) -> bool:
        return self.status is AccountStatus.CLOSED

    def readable_by(self, caller: Caller) -> bool:
        return caller.is_ops or self.owner_id == caller.user_id

    def check_movable_by(self, caller: Caller) -> None:
        """Raises NotFound if the caller may not see the account, Forbidden if they may only read it."""
        if not self.readable_by(caller):
            raise errors.NotFound("No such account.")
        if self.owner_id != caller.user_id:
            raise errors.Forbidden()


@dataclass(frozen=True)
class LimitUsage:
    """An account's outgoing money on one day: completed (`used`) and accepted but not applied (`pending`)."""

    used: int = 0
    pending: int = 0


@dataclass(frozen=True)
class LimitFigures:
    """What an account read shows of its daily limit on one business day.

    `used` and `pending` are that day's; `pending_out` is the outgoing money of every day not yet
    applied (an event accepted before midnight may still wait after it), for the available balance.
    """

    business_date: dt.date
    used: int = 0
    pending: int = 0
    pending_out: int = 0

    def remaining(self, daily_limit: int) -> int:
        return max(0, daily_limit - self.used - self.pending)


@dataclass(frozen=True)
class Movement:
    """A request to move money, validated but not yet accepted.

    `account_id` is the account the money leaves (withdrawal, transfer) or enters (deposit);
    `counterparty_id` is a transfer's receiving account.
    """

    type: EventType
    account_id: uuid.UUID
    amount: Decimal
    counterparty_id: uuid.UUID | None = None
    reference: str = ""
    memo: str = ""

    def fingerprint(self) -> str:
        """What makes two requests the same request for an Idempotency-Key (amounts by value)."""
        return "|".join(
            [
                self.type,
                str(self.account_id),
                str(self.counterparty_id or ""),
                format(self.amount.normalize(), "f"),
                self.reference,
                self.memo,
            ]
        )


@dataclass(frozen=True)
class AcceptedEvent:
    """An event as the API committed it; the worker applies it later."""

    id: uuid.UUID
    movement: Movement
    amount: int
    currency: Currency
    requested_by: int
    business_date: dt.date
    accepted_at: dt.datetime


@dataclass(frozen=True)
class PendingEvent:
    """An event the worker is about to apply, in acceptance order."""

    id: uuid.UUID
    type: EventType
    account_id: uuid.UUID
    counterparty_id: uuid.UUID | None
    amount: int
    business_date: dt.date


@dataclass(frozen=True)
class Posting:
    """One line of a journal transaction: a signed amount on one account, and that account's
    balance after it (None on a settlement account, whose position is the sum of its entries)."""

    account_id: uuid.UUID
    amount: int
    entry_type: EntryType
    counterparty_id: uuid.UUID | None = None
    balance_after: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The whole effect of applying an event: completed with its balanced postings, or rejected with
    a reason; for an outgoing event also its source's limit usage of that day afterwards."""

    event_id: uuid.UUID
    status: EventStatus
    reason: str | None = None
    postings: tuple[Posting, ...] = ()
    usage: LimitUsage | None = None

    @property
    def balances(self) -> dict[uuid.UUID, int]:
        """The customer balances the event changes, as they are after it."""
        return {p.account_id: p.balance_after for p in self.postings if p.balance_after is not None}


def decide(
    event: PendingEvent,
    *,
    accounts: Mapping[uuid.UUID, Account],
    usage: LimitUsage,
    settlement_id: uuid.UUID,
) -> Outcome:
    """Decide an event against the locked state of its accounts: the worker's re-check.

    `usage` is the source account's limit usage on the event's business date, the event's own
    reservation among its `pending` money (ignored for deposits). Checks run in a fixed order:
    account_closed, insufficient_funds, daily_limit_exceeded, balance_limit_exceeded.
    """
    source = accounts[event.account_id]
    target = accounts[event.counterparty_id] if event.counterparty_id else None
    completed = True
    try:
        if source.is_closed or (target is not None and target.is_closed):
            raise errors.AccountClosed()
        if event.type.is_outgoing:
            if source.balance < event.amount:
                raise errors.InsufficientFunds()
            if usage.used + event.amount > source.daily_limit:
                raise errors.DailyLimitExceeded()
        credited = source if event.type is EventType.DEPOSIT else target
        if credited is not None and credited.balance + event.amount > credited.currency.max_amount:
            raise errors.BalanceLimitExceeded()
    except errors.Rejection as rejection:
        reason: str | None = rejection.code
        completed = False
    else:
        reason = None
    usage_after = None
    if event.type.is_outgoing:
        # The reservation made at acceptance is released; completed money counts as used.
        spent = event.amount if completed else 0
        usage_after = LimitUsage(used=usage.used + spent, pending=usage.pending - event.amount)
    if not completed:
        return Outcome(event.id, EventStatus.REJECTED, reason=reason, usage=usage_after)
    return Outcome(
        event.id, EventStatus.COMPLETED, postings=_postings(event, accounts, settlement_id), usage=usage_after
    )


def _postings(
    event: PendingEvent, accounts: Mapping[uuid.UUID, Account], settlement_id: uuid.UUID
) -> tuple[Posting, ...]:
    amount = event.amount
    source = accounts[event.account_id]
    if event.type is EventType.DEPOSIT:
        return (
            Posting(source.id, amount, EntryType.DEPOSIT, balance_after=source.balance + amount),
            Posting(settlement_id, -amount, EntryType.SETTLEMENT, source.id),
        )
    if event.type is EventType.WITHDRAWAL:
        return (
            Posting(source.id, -amount, EntryType.WITHDRAWAL, balance_after=source.balance - amount),
            Posting(settlement_id, amount, EntryType.SETTLEMENT, source.id),
        )
    assert event.counterparty_id is not None
    target = accounts[event.counterparty_id]
    return (
        Posting(source.id, -amount, EntryType.TRANSFER_OUT, target.id, balance_after=source.balance - amount),
        Posting(target.id, amount, EntryType.TRANSFER_IN, source.id, balance_after=target.balance + amount),
    )
