"""Accepting a movement: ownership, idempotency and the daily limit, with the ports faked."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from tests.unit.transfers.fakes import FakeAcceptanceStore, FakeBacklog, FakeClock, FakeLimitCache
from transfers import services
from transfers.domain import errors
from transfers.domain.model import Caller, EventType, IdempotencyKey, LimitFigures, Movement
from transfers.domain.money import Currency

ALICE, BOB, OLGA = Caller(1), Caller(2), Caller(3, is_ops=True)
_TODAY = FakeClock().business_date(FakeClock().now())


@pytest.fixture
def store() -> FakeAcceptanceStore:
    return FakeAcceptanceStore()


@pytest.fixture
def cache() -> FakeLimitCache:
    return FakeLimitCache()


def _accept(store, cache, caller, movement, key: str | None = None):
    idempotency = IdempotencyKey(caller.user_id, "POST /x", key) if key else None
    return services.accept_movement(
        caller=caller,
        movement=movement,
        idempotency=idempotency,
        store=store,
        cache=cache,
        clock=FakeClock(),
        backlog=FakeBacklog(),
        max_lag=dt.timedelta(seconds=30),
    )


def _withdrawal(account_id: uuid.UUID, amount: str) -> Movement:
    return Movement(type=EventType.WITHDRAWAL, account_id=account_id, amount=Decimal(amount))


def test_the_same_key_and_request_returns_the_first_event_and_records_no_other(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.USD, daily_limit=10_000)

    first = _accept(store, cache, ALICE, _withdrawal(account.id, "12.5"), key="k1")
    again = _accept(store, cache, ALICE, _withdrawal(account.id, "12.50"), key="k1")

    assert again == services.Acceptance(first.event_id, replayed=True)
    assert len(store.events) == 1


def test_the_same_key_with_another_request_is_refused(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.USD, daily_limit=10_000)
    _accept(store, cache, ALICE, _withdrawal(account.id, "12.50"), key="k1")

    with pytest.raises(errors.IdempotencyKeyReused):
        _accept(store, cache, ALICE, _withdrawal(account.id, "13.00"), key="k1")


def test_figures_cached_as_used_up_neither_refuse_a_withdrawal_nor_outlive_it(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    cache.put({account.id: LimitFigures(_TODAY, used=1000)})

    _accept(store, cache, ALICE, _withdrawal(account.id, "600"))

    assert len(store.events) == 1
    assert cache.get([account.id]) == {}  # the next account read asks the store


def test_limit_figures_come_from_the_cache_and_else_from_the_store_which_fills_it(store, cache):
    cached = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    fresh = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    _accept(store, cache, ALICE, _withdrawal(fresh.id, "600"))
    cache.put({cached.id: LimitFigures(_TODAY, used=1, pending=2, pending_out=3)})

    figures = services.limit_figures(
        account_ids=[cached.id, fresh.id], store=store, cache=cache, clock=FakeClock()
    )

    assert figures == {
        cached.id: LimitFigures(_TODAY, used=1, pending=2, pending_out=3),
        fresh.id: LimitFigures(_TODAY, used=0, pending=600, pending_out=600),
    }
    assert cache.get([fresh.id]) == {fresh.id: figures[fresh.id]}


def test_figures_cached_on_another_day_are_read_again(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    cache.put({account.id: LimitFigures(_TODAY - dt.timedelta(days=1), used=900)})

    figures = services.limit_figures(account_ids=[account.id], store=store, cache=cache, clock=FakeClock())

    assert figures[account.id] == LimitFigures(_TODAY)


def test_a_withdrawal_past_used_plus_pending_is_refused(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    _accept(store, cache, ALICE, _withdrawal(account.id, "600"))

    with pytest.raises(errors.DailyLimitExceeded):
        _accept(store, cache, ALICE, _withdrawal(account.id, "401"))
    assert len(store.events) == 1


def test_someone_elses_account_is_not_found_for_a_customer_and_forbidden_for_ops(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    with pytest.raises(errors.NotFound):
        _accept(store, cache, BOB, _withdrawal(account.id, "1"))
    with pytest.raises(errors.Forbidden):
        _accept(store, cache, OLGA, _withdrawal(account.id, "1"))
    assert store.events == []


def test_a_transfer_to_the_same_account_is_refused(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    movement = Movement(EventType.TRANSFER, account.id, Decimal("1"), counterparty_id=account.id)

    with pytest.raises(errors.SameAccount):
        _accept(store, cache, ALICE, movement)


def test_a_transfer_between_currencies_is_refused(store, cache):
    source = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    target = store.open_account(owner_id=BOB.user_id, currency=Currency.JPY, daily_limit=1000)
    movement = Movement(EventType.TRANSFER, source.id, Decimal("1"), counterparty_id=target.id)

    with pytest.raises(errors.CurrencyMismatch):
        _accept(store, cache, ALICE, movement)


def test_only_the_owner_closes_an_empty_account(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    with pytest.raises(errors.Forbidden):
        services.close_account(caller=OLGA, account_id=account.id, store=store)
    with pytest.raises(errors.NotFound):
        services.close_account(caller=BOB, account_id=account.id, store=store)
    closed = services.close_account(caller=ALICE, account_id=account.id, store=store)

    assert closed.is_closed


def test_a_movement_touching_a_closed_account_is_refused(store, cache):
    account = store.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    services.close_account(caller=ALICE, account_id=account.id, store=store)

    with pytest.raises(errors.AccountClosed):
        _accept(store, cache, ALICE, Movement(EventType.DEPOSIT, account.id, Decimal("1")))
    assert store.events == []
