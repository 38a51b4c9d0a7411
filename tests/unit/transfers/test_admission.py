"""Admission control: movements are refused while the worker is too far behind, before anything else."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from tests.unit.transfers.fakes import FakeAcceptanceStore, FakeBacklog, FakeClock, FakeLimitCache
from transfers import services
from transfers.domain import errors
from transfers.domain.model import Caller, EventType, IdempotencyKey, Movement
from transfers.domain.money import Currency

ALICE = Caller(1)
MAX_LAG = dt.timedelta(seconds=30)
CLOCK = FakeClock()


@pytest.fixture
def store() -> FakeAcceptanceStore:
    return FakeAcceptanceStore()


def _accept(store, movement: Movement, *, waiting_for: float | None, key: str | None = None):
    """Accept with the oldest pending event accepted `waiting_for` seconds ago (None: nothing waits)."""
    oldest = None if waiting_for is None else CLOCK.now() - dt.timedelta(seconds=waiting_for)
    return services.accept_movement(
        caller=ALICE,
        movement=movement,
        idempotency=IdempotencyKey(ALICE.user_id, "POST /x", key) if key else None,
        store=store,
        cache=FakeLimitCache(),
        clock=CLOCK,
        backlog=FakeBacklog(oldest),
        max_lag=MAX_LAG,
    )


def _deposit(account_id: uuid.UUID, amount: str = "100") -> Movement:
    return Movement(EventType.DEPOSIT, account_id, Decimal(amount))


@pytest.mark.parametrize("waiting_for", [None, 0.0, 29.9, 30.0])
def test_a_movement_is_accepted_while_the_oldest_pending_event_is_within_the_bound(store, waiting_for):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    _accept(store, _deposit(account.id), waiting_for=waiting_for)

    assert len(store.events) == 1


@pytest.mark.parametrize("kind", [EventType.DEPOSIT, EventType.WITHDRAWAL, EventType.TRANSFER])
def test_every_movement_is_refused_overloaded_once_the_oldest_pending_event_is_past_the_bound(store, kind):
    source = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    target = store.open_account(owner_id=2, currency=Currency.KRW, daily_limit=1000)
    counterparty = target.id if kind is EventType.TRANSFER else None

    with pytest.raises(errors.Overloaded) as refused:
        _accept(
            store, Movement(kind, source.id, Decimal("1"), counterparty_id=counterparty), waiting_for=30.5
        )

    assert refused.value.code == "overloaded"
    assert refused.value.retry_after == 1
    assert store.events == []
    assert store.usage == {}


@pytest.mark.parametrize(
    ("waiting_for", "retry_after"), [(30.001, 1), (31.0, 1), (31.2, 2), (45.0, 15), (3600.0, 30)]
)
def test_retry_after_is_the_time_past_the_bound_at_least_one_second_at_most_the_bound(
    store, waiting_for, retry_after
):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    with pytest.raises(errors.Overloaded) as refused:
        _accept(store, _deposit(account.id), waiting_for=waiting_for)

    assert refused.value.retry_after == retry_after


def test_the_refusal_comes_before_every_other_check(store):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    same_account = Movement(EventType.TRANSFER, account.id, Decimal("1"), counterparty_id=account.id)

    with pytest.raises(errors.Overloaded):
        _accept(store, same_account, waiting_for=60)
    with pytest.raises(errors.Overloaded):
        _accept(store, _deposit(uuid.uuid4()), waiting_for=60)  # no such account


def test_a_refused_request_leaves_its_idempotency_key_unused(store):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    with pytest.raises(errors.Overloaded):
        _accept(store, _deposit(account.id, "100"), waiting_for=60, key="k1")

    accepted = _accept(store, _deposit(account.id, "200"), waiting_for=None, key="k1")

    assert not accepted.replayed
    assert [event.amount for event in store.events] == [200]
