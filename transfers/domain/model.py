"""Accounts as the core sees them, movement commands, events and how an event is applied."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from transfers.domain import errors
from transfers.domain.money import Currency


class EventType(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    REVERSAL = "reversal"

    @property
    def is_outgoing(self) -> bool:
        """Whether the event takes money out of its source account (and so counts toward its limit).

        A reversal moves money back by new entries; it counts toward no limit."""
        return self in (EventType.WITHDRAWAL, EventType.TRANSFER)

    @property
    def is_correction(self) -> bool:
        """An ops correction: applied to frozen accounts too (freezing stops the customer's
        movements, not the bank's corrections of its books)."""
        return self is EventType.REVERSAL

    @property
    def is_reversible(self) -> bool:
        return self in (EventType.DEPOSIT, EventType.WITHDRAWAL, EventType.TRANSFER)


class EventStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REJECTED = "rejected"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class ReversalStatus(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DECLINED = "declined"


class EntryType(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    REVERSAL = "reversal"
    SETTLEMENT = "settlement"


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user id, whether they hold the `ops` role, and the request's id (for the
    audit record)."""

    user_id: int
    is_ops: bool = False
    request_id: str = ""


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

    @property
    def is_frozen(self) -> bool:
        return self.status is AccountStatus.FROZEN

    def readable_by(self, caller: Caller) -> bool:
        return caller.is_ops or self.owner_id == caller.user_id

    def read_is_audited(self, caller: Caller) -> bool:
        """An ops person reading someone else's account: the audit record keeps it."""
        return caller.is_ops and self.owner_id != caller.user_id

    def check_movable_by(self, caller: Caller) -> None:
        """Raises NotFound if the caller may not see the account, Forbidden if they may only read it."""
        if not self.readable_by(caller):
            raise errors.NotFound("No such account.")
        if self.owner_id != caller.user_id:
            raise errors.Forbidden()

    def check_freezable_by(self, caller: Caller) -> None:
        """Freezing and unfreezing are for ops, on anyone's account: NotFound for a customer on
        someone else's account, Forbidden on their own; AccountClosed for a closed account."""
        if not self.readable_by(caller):
            raise errors.NotFound("No such account.")
        if not caller.is_ops:
            raise errors.Forbidden("Only ops staff may freeze or unfreeze an account.")
        if self.is_closed:
            raise errors.AccountClosed()

    def check_closable(self, *, pending: bool) -> None:
        """Raises AccountFrozen (frozen accounts stay open), AccountNotEmpty (money or events left)."""
        if self.is_frozen:
            raise errors.AccountFrozen()
        if self.balance != 0 or pending:
            raise errors.AccountNotEmpty()


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
    reverses: uuid.UUID | None = None

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
        if not event.type.is_correction and (source.is_frozen or (target is not None and target.is_frozen)):
            raise errors.AccountFrozen()
        # A reversal debits its `account_id` (a settlement account has no balance to check).
        debits_customer = event.type.is_outgoing or (
            event.type is EventType.REVERSAL and source.id != settlement_id
        )
        if debits_customer and source.balance < event.amount:
            raise errors.InsufficientFunds()
        if event.type.is_outgoing and usage.used + event.amount > source.daily_limit:
            raise errors.DailyLimitExceeded()
        credited = source if event.type is EventType.DEPOSIT else target
        if credited is not None and credited.id == settlement_id:
            credited = None
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
    if event.type is EventType.REVERSAL:
        return _reversal_postings(source, target, amount, settlement_id)
    return (
        Posting(source.id, -amount, EntryType.TRANSFER_OUT, target.id, balance_after=source.balance - amount),
        Posting(target.id, amount, EntryType.TRANSFER_IN, source.id, balance_after=target.balance + amount),
    )


def _reversal_postings(debited: Account, credited: Account, amount: int, settlement_id: uuid.UUID):
    """Money back from `debited` to `credited`: entry type `reversal` on customer accounts, with the
    other customer account as counterparty (none when the other side is the settlement account);
    `settlement` on the settlement account, whose counterparty is the customer."""

    def side(account: Account, other: Account, signed: int) -> Posting:
        if account.id == settlement_id:
            return Posting(account.id, signed, EntryType.SETTLEMENT, other.id)
        counterparty = None if other.id == settlement_id else other.id
        return Posting(
            account.id, signed, EntryType.REVERSAL, counterparty, balance_after=account.balance + signed
        )

    return (side(debited, credited, -amount), side(credited, debited, amount))


@dataclass(frozen=True)
class EventRecord:
    """An accepted event as ops see it when they ask to reverse it."""

    id: uuid.UUID
    type: EventType
    status: EventStatus
    account_id: uuid.UUID
    counterparty_id: uuid.UUID | None
    amount: int
    currency: Currency
    requested_by: int

    def readable_by(self, caller: Caller) -> bool:
        return caller.is_ops or self.requested_by == caller.user_id

    def read_is_audited(self, caller: Caller) -> bool:
        """An ops person reading an event someone else requested: the audit record keeps it."""
        return caller.is_ops and self.requested_by != caller.user_id

    def reversal_sides(self, settlement_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
        """(debited, credited) of the event that undoes this one."""
        if self.type is EventType.DEPOSIT:
            return self.account_id, settlement_id
        if self.type is EventType.WITHDRAWAL:
            return settlement_id, self.account_id
        assert self.counterparty_id is not None
        return self.counterparty_id, self.account_id


@dataclass(frozen=True)
class ReversalRequest:
    """An ops request to reverse a completed event; a second ops person approves or declines it."""

    id: uuid.UUID
    event_id: uuid.UUID
    status: ReversalStatus
    requested_by: int
    reason: str
    created_at: dt.datetime
    decided_by: int | None = None
    decision_reason: str = ""
    decided_at: dt.datetime | None = None
    reversal_event_id: uuid.UUID | None = None

    def check_decidable_by(self, caller: Caller) -> None:
        """Raises NotFound for a customer, Forbidden for the requester (four eyes), NotReversible
        once decided."""
        if not caller.is_ops:
            raise errors.NotFound("No such reversal request.")
        if caller.user_id == self.requested_by:
            raise errors.Forbidden("The person who requested a reversal cannot approve or decline it.")
        if self.status is not ReversalStatus.AWAITING_APPROVAL:
            raise errors.NotReversible(f"This reversal request is already {self.status.value}.")


def check_reversible(
    event: EventRecord, earlier: Sequence[tuple[ReversalRequest, EventStatus | None]]
) -> None:
    """Only a completed deposit, withdrawal or transfer, once: `earlier` are the event's reversal
    requests with the status of the reversal event each approval created. A declined request, or
    an approved one whose reversal was rejected (say insufficient_funds), does not count."""
    if not event.type.is_reversible:
        raise errors.NotReversible("Only a deposit, withdrawal or transfer can be reversed.")
    if event.status is not EventStatus.COMPLETED:
        raise errors.NotReversible(
            f"Only a completed event can be reversed; this one is {event.status.value}."
        )
    for request, reversal_status in earlier:
        if request.status is ReversalStatus.AWAITING_APPROVAL:
            raise errors.NotReversible("A reversal of this event is already awaiting approval.")
        if request.status is ReversalStatus.APPROVED and reversal_status is not EventStatus.REJECTED:
            raise errors.NotReversible("This event has already been reversed.")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit record: who did or read what, why, in which request."""

    actor_id: int
    action: str
    object_type: str
    object_id: str
    reason: str = ""
    request_id: str = ""
