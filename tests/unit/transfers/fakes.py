"""In-memory fakes of the core's ports, for testing the use cases without servers."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid
from contextlib import contextmanager, nullcontext

from transfers.domain import errors
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
)
from transfers.domain.money import Currency
from transfers.ports import BatchFailed, EventFailed


class FakeClock:
    def __init__(self, moment: dt.datetime = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def business_date(self, moment: dt.datetime) -> dt.date:
        return moment.date()


class FakeLimitCache:
    def __init__(self) -> None:
        self.entries: dict[uuid.UUID, LimitFigures] = {}

    def get(self, account_ids) -> dict[uuid.UUID, LimitFigures]:
        return {i: self.entries[i] for i in account_ids if i in self.entries}

    def put(self, figures, *, read_at=None) -> None:
        self.entries.update(figures)

    def forget(self, account_ids) -> None:
        for account_id in account_ids:
            self.entries.pop(account_id, None)


class FakeBacklog:
    """A backlog whose oldest pending event the test sets; None: nothing waits."""

    def __init__(self, oldest_pending_at: dt.datetime | None = None) -> None:
        self.oldest = oldest_pending_at

    def oldest_pending_at(self) -> dt.datetime | None:
        return self.oldest


class FakeAcceptanceStore:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Account] = {}
        self.usage: dict = {}
        self.events: list[AcceptedEvent] = []
        self.keys: dict[tuple, tuple[str, uuid.UUID]] = {}

    def atomic(self):
        return nullcontext()

    def accounts(self, *account_ids):
        return {i: self.rows[i] for i in account_ids if i in self.rows}

    def open_account(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account:
        account = Account(uuid.uuid4(), owner_id, currency, 0, daily_limit, AccountStatus.ACTIVE)
        self.rows[account.id] = account
        return account

    def close_account(self, account_id):
        account = self.rows[account_id]
        if account.balance != 0 or any(e.movement.account_id == account_id for e in self.events):
            raise errors.AccountNotEmpty()
        self.rows[account_id] = dataclasses.replace(account, status=AccountStatus.CLOSED)
        return self.rows[account_id]

    def limit_figures(self, account_ids, day) -> dict[uuid.UUID, LimitFigures]:
        figures = {}
        for account_id in account_ids:
            today = self.usage.get((account_id, day), LimitUsage())
            pending_out = sum(u.pending for (i, _), u in self.usage.items() if i == account_id)
            figures[account_id] = LimitFigures(day, today.used, today.pending, pending_out)
        return figures

    def claim_idempotency_key(self, key: IdempotencyKey):
        return self.keys.get((key.user_id, key.scope, key.key))

    def remember_idempotency_key(self, key: IdempotencyKey, *, fingerprint: str, event_id: uuid.UUID):
        self.keys[(key.user_id, key.scope, key.key)] = (fingerprint, event_id)

    def add_event(self, event: AcceptedEvent, *, reserve_within: int | None) -> None:
        movement = event.movement
        touched = [self.rows[i] for i in (movement.account_id, movement.counterparty_id) if i in self.rows]
        if any(a.is_closed for a in touched):
            raise errors.AccountClosed()
        if not movement.type.is_correction and any(a.is_frozen for a in touched):
            raise errors.AccountFrozen()
        if reserve_within is not None:
            key = (movement.account_id, event.business_date)
            usage = self.usage.get(key, LimitUsage())
            if usage.used + usage.pending + event.amount > reserve_within:
                raise errors.DailyLimitExceeded()
            self.usage[key] = LimitUsage(usage.used, usage.pending + event.amount)
        self.events.append(event)


@dataclasses.dataclass
class _LedgerState:
    """What the worker changes in the database: balances and usage (shared with the acceptance
    store), outcomes in the order they were written, and parks."""

    rows: dict[uuid.UUID, Account]
    usage: dict
    outcomes: dict[uuid.UUID, Outcome]
    parked: dict[uuid.UUID, uuid.UUID]


class FakeDatabaseUnavailable(Exception):
    """What the fake raises for a database that cannot write at all: not a refusal of the data."""


class FakeLedgerStore:
    """The worker's store over a FakeAcceptanceStore's accounts and events, with transactions.

    A batch works on a copy of the state, which replaces the state only when the batch ends without
    an error, as a rolled-back transaction would. `refuse` names events whose writes the "database"
    refuses because of their data: at the end of a batch (BatchFailed), or at once in an isolated
    batch (EventFailed, with only that event's writes undone). `unavailable` makes every batch fail
    as a database that cannot write does.
    """

    def __init__(self, accepted: FakeAcceptanceStore) -> None:
        self.accepted = accepted
        self.outcomes: dict[uuid.UUID, Outcome] = {}
        self.parked: dict[uuid.UUID, uuid.UUID] = {}
        self.refuse: set[uuid.UUID] = set()
        self.unavailable = False
        self.settlements = {currency: uuid.uuid4() for currency in Currency}
        self.batches: list[bool] = []  # one per batch run: isolated or not

    def pending_events(self) -> list[PendingEvent]:
        """Every accepted event not yet final, in acceptance order."""
        return [_pending(e) for e in self.accepted.events if e.id not in self.outcomes]

    @contextmanager
    def batch(self, event_ids, *, isolated: bool = False):
        self.batches.append(isolated)
        state = copy.deepcopy(
            _LedgerState(self.accepted.rows, self.accepted.usage, self.outcomes, self.parked)
        )
        batch = _FakeBatch(self, state, list(event_ids), isolated)
        yield batch
        if self.unavailable:  # at the commit, after the batch wrote what it would
            raise FakeDatabaseUnavailable("the database cannot write")
        if not isolated and self.refuse & {event.id for event in batch.recorded}:
            raise BatchFailed("a write was refused")
        self.accepted.rows, self.accepted.usage = state.rows, state.usage
        self.outcomes, self.parked = state.outcomes, state.parked


def _pending(event: AcceptedEvent) -> PendingEvent:
    return PendingEvent(
        id=event.id,
        type=event.movement.type,
        account_id=event.movement.account_id,
        counterparty_id=event.movement.counterparty_id,
        amount=event.amount,
        business_date=event.business_date,
    )


class _FakeBatch:
    def __init__(self, store: FakeLedgerStore, state: _LedgerState, event_ids: list, isolated: bool) -> None:
        self._store = store
        self._state = state
        self._isolated = isolated
        self.recorded: list[PendingEvent] = []
        seq = {e.id: i for i, e in enumerate(store.accepted.events)}
        asked = set(event_ids) & set(seq)
        self.unknown_event_ids = set(event_ids) - set(seq)
        # As the adapter's locking query: the asked events, and earlier pending ones of their senders.
        last = max((seq[i] for i in asked), default=-1)
        senders = {e.movement.account_id for e in store.accepted.events if e.id in asked}
        self._events = [
            e
            for e in store.pending_events()
            if e.id in asked or (e.account_id in senders and seq[e.id] < last)
        ]
        ids = {e.account_id for e in self._events} | {e.counterparty_id for e in self._events} - {None}
        self.accounts = {i: state.rows[i] for i in ids}
        self.parked = set(state.parked) & ids

    def pending_events(self):
        return list(self._events)

    def settlement_id(self, account_id: uuid.UUID) -> uuid.UUID:
        return self._store.settlements[self.accounts[account_id].currency]

    def usage(self, key) -> LimitUsage | None:
        return self._state.usage.get(key)

    @contextmanager
    def savepoint(self):
        if not self._isolated:
            yield
            return
        before = copy.deepcopy(self._state)
        try:
            yield
        except EventFailed:
            self._state.__dict__.update(before.__dict__)
            raise

    def record(self, event: PendingEvent, outcome: Outcome) -> None:
        if self._isolated and event.id in self._store.refuse:
            raise EventFailed(f"refused: {event.id}")
        for account_id, balance in outcome.balances.items():
            self._state.rows[account_id] = dataclasses.replace(self._state.rows[account_id], balance=balance)
        if outcome.usage is not None:
            self._state.usage[(event.account_id, event.business_date)] = outcome.usage
        self._state.outcomes[event.id] = outcome
        self.recorded.append(event)

    def park(self, account_id: uuid.UUID, *, event_id: uuid.UUID, error: str) -> None:
        self._state.parked.setdefault(account_id, event_id)
        self.parked.add(account_id)


class FakeOpsStore:
    """Account status (on the acceptance store's rows), events ops may reverse, requests, audit."""

    def __init__(self, acceptance: FakeAcceptanceStore, settlement_id: uuid.UUID | None = None) -> None:
        self.acceptance = acceptance
        self.events: dict[uuid.UUID, EventRecord] = {}
        self.reversal_statuses: dict[uuid.UUID, EventStatus] = {}
        self.requests: dict[uuid.UUID, ReversalRequest] = {}
        self.audit: list[AuditEntry] = []
        self.settlement = settlement_id or uuid.uuid4()

    def atomic(self):
        return nullcontext()

    def record(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def lock_account(self, account_id):
        return self.acceptance.rows.get(account_id)

    def set_account_status(self, account_id, status):
        rows = self.acceptance.rows
        rows[account_id] = dataclasses.replace(rows[account_id], status=status)
        return rows[account_id]

    def event(self, event_id, *, lock=False):
        return self.events.get(event_id)

    def settlement_id(self, currency):
        return self.settlement

    def reversal_requests_of(self, event_id):
        return [
            (r, self.reversal_statuses.get(r.reversal_event_id) if r.reversal_event_id else None)
            for r in self.requests.values()
            if r.event_id == event_id
        ]

    def add_reversal_request(self, request):
        self.requests[request.id] = request

    def reversal_request(self, request_id, *, lock=False):
        return self.requests.get(request_id)

    def decide_reversal_request(
        self, request_id, *, status, decided_by, reason, decided_at, reversal_event_id
    ):
        self.requests[request_id] = dataclasses.replace(
            self.requests[request_id],
            status=status,
            decided_by=decided_by,
            decision_reason=reason,
            decided_at=decided_at,
            reversal_event_id=reversal_event_id,
        )
        if reversal_event_id is not None:
            self.reversal_statuses[reversal_event_id] = EventStatus.PENDING
        return self.requests[request_id]
