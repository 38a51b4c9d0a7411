"""What the core needs from the outside world; adapters implement these protocols."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from transfers.domain.model import (
    AcceptedEvent,
    Account,
    AccountStatus,
    AuditEntry,
    EventRecord,
    EventStatus,
    IdempotencyKey,
    LimitFigures,
    LimitUsage,
    Outcome,
    PendingEvent,
    ReversalRequest,
    ReversalStatus,
)
from transfers.domain.money import Currency

LimitKey = tuple[uuid.UUID, dt.date]


class BatchFailed(Exception):
    """The database refused a write of a batch because of its data (a constraint, a value out of
    range), not because it is unavailable; nothing of the batch was committed."""


class EventFailed(Exception):
    """The database refused one event's writes because of their data; its savepoint was rolled
    back, its neighbours stand."""


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def business_date(self, moment: dt.datetime) -> dt.date:
        """The day, in the bank's time zone, that a moment belongs to for the daily limit."""
        ...


class LimitCache(Protocol):
    """A fast, lossy copy of the limit figures that account reads show; never consulted to accept.

    Every method may fail silently: `get` then finds nothing, and a `forget` that failed leaves an
    entry that is wrong for at most the cache's stated lifetime of an entry.
    """

    def get(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LimitFigures]:
        """The cached figures found among these accounts, of whatever day they were cached for."""
        ...

    def put(self, figures: dict[uuid.UUID, LimitFigures], *, read_at: dt.datetime | None = None) -> None:
        """Keep these figures, read from the store at `read_at` (default now): an entry lives its
        stated lifetime from the read, not from when the cache got it."""
        ...

    def forget(self, account_ids: Iterable[uuid.UUID]) -> None: ...


class Backlog(Protocol):
    """How far behind the worker is, as admission control sees it; answered from memory."""

    def oldest_pending_at(self) -> dt.datetime | None:
        """When the oldest event the worker has yet to apply was accepted; None if none waits.

        Events held behind a parked account do not count: they wait for an operator, not for the
        worker. The answer may be up to a second old.
        """
        ...


class AcceptanceStore(Protocol):
    """The API side's durable state: accounts, limit usage and accepted events."""

    def atomic(self) -> AbstractContextManager[None]:
        """One transaction around the block, committed as the block ends.

        If the block added an event and the connection broke after the COMMIT was sent, the
        outcome is read back: committed, the block ends as if nothing happened; not committed, the
        store's error propagates; if it cannot be told, raises OutcomeUnknown with the event's id.
        """
        ...

    def accounts(self, *account_ids: uuid.UUID) -> dict[uuid.UUID, Account]:
        """The customer accounts among these ids that exist, read in one go.

        May answer from memory: an account closed since may still show as active (add_event
        refuses it); balances may be stale. Everything else about an account never changes.
        """
        ...

    def open_account(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account: ...

    def close_account(self, account_id: uuid.UUID) -> Account:
        """Close an account with balance 0 and nothing pending; raises AccountNotEmpty otherwise."""
        ...

    def limit_figures(self, account_ids: Sequence[uuid.UUID], day: dt.date) -> dict[uuid.UUID, LimitFigures]:
        """Every one of these accounts' figures on `day`, zero where nothing was sent."""
        ...

    def claim_idempotency_key(self, key: IdempotencyKey) -> tuple[str, uuid.UUID] | None:
        """Hold the key until the transaction ends; return the (fingerprint, event id) it was used for.

        Raises IdempotencyInProgress if another transaction holds it.
        """
        ...

    def remember_idempotency_key(
        self, key: IdempotencyKey, *, fingerprint: str, event_id: uuid.UUID
    ) -> None: ...

    def add_event(self, event: AcceptedEvent, *, reserve_within: int | None) -> None:
        """Commit the event and its outbox message, atomically even outside `atomic()`.

        Raises AccountClosed if either account is closed by then, AccountFrozen if one is frozen
        (unless the event is a correction, which applies to frozen accounts too). With `reserve_within` (the
        daily limit), first add the amount to the source account's pending money of the event's
        day; raises DailyLimitExceeded if used + pending would pass the limit. Outside `atomic()`,
        if the connection broke after the statement was sent, the outcome is read back as
        `atomic()` does: committed, it returns; not committed, the store's error propagates;
        cannot be told, raises OutcomeUnknown with the event's id.
        """
        ...


class LedgerBatch(Protocol):
    """Events being applied in one transaction, with their accounts locked."""

    accounts: dict[uuid.UUID, Account]
    unknown_event_ids: set[uuid.UUID]
    parked: set[uuid.UUID]
    """The batch's accounts whose own events wait behind a refused one."""

    def pending_events(self) -> Sequence[PendingEvent]:
        """The batch's events still pending, in acceptance order."""
        ...

    def settlement_id(self, account_id: uuid.UUID) -> uuid.UUID: ...

    def usage(self, key: LimitKey) -> LimitUsage | None:
        """The locked limit usage of an account's day, as the batch began; None if it has no row."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Isolates one event's writes when the batch is isolated; raises EventFailed if refused."""
        ...

    def record(self, event: PendingEvent, outcome: Outcome) -> None:
        """Write the outcome as decided: journal, balances, limit usage and the event's status."""
        ...

    def park(self, account_id: uuid.UUID, *, event_id: uuid.UUID, error: str) -> None:
        """Record that the account's own events wait behind `event_id`, refused with `error`;
        the account joins `parked` at once."""
        ...


class LedgerStore(Protocol):
    """The worker side's durable state."""

    def batch(
        self, event_ids: Sequence[uuid.UUID], *, isolated: bool = False
    ) -> AbstractContextManager[LedgerBatch]:
        """Open one transaction over these events, locking their accounts in id order.

        Unless `isolated`, writes may be deferred to the end of the batch, where a refused one
        raises BatchFailed and undoes the whole batch. Any other failure of the database (lost
        connection, read-only, schema, privilege, disk full, timeout) propagates as the
        adapter's own error, and nothing of the batch is committed.
        """
        ...


class AuditLog(Protocol):
    """The append-only record of what ops did and read (the database refuses changes to it)."""

    def record(self, entry: AuditEntry) -> None:
        """Append the entry; inside `atomic()` it commits, or not, with what it records."""
        ...


class OpsStore(AuditLog, Protocol):
    """What ops actions change: account status and reversal requests, each recorded in the audit."""

    def atomic(self) -> AbstractContextManager[None]: ...

    def lock_account(self, account_id: uuid.UUID) -> Account | None:
        """The customer account, locked until the transaction ends; None if there is none."""
        ...

    def set_account_status(self, account_id: uuid.UUID, status: AccountStatus) -> Account: ...

    def event(self, event_id: uuid.UUID, *, lock: bool = False) -> EventRecord | None: ...

    def settlement_id(self, currency: Currency) -> uuid.UUID: ...

    def reversal_requests_of(self, event_id: uuid.UUID) -> list[tuple[ReversalRequest, EventStatus | None]]:
        """The event's reversal requests, each with the status of the reversal event it created."""
        ...

    def add_reversal_request(self, request: ReversalRequest) -> None: ...

    def reversal_request(self, request_id: uuid.UUID, *, lock: bool = False) -> ReversalRequest | None: ...

    def decide_reversal_request(
        self,
        request_id: uuid.UUID,
        *,
        status: ReversalStatus,
        decided_by: int,
        reason: str,
        decided_at: dt.datetime,
        reversal_event_id: uuid.UUID | None,
    ) -> ReversalRequest: ...
