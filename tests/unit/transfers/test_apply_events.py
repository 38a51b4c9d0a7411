"""Applying events with the ports faked: the batch, its one-by-one fallback, parks and failures."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from tests.unit.transfers.fakes import (
    FakeAcceptanceStore,
    FakeBacklog,
    FakeClock,
    FakeDatabaseUnavailable,
    FakeLedgerStore,
    FakeLimitCache,
)
from transfers import services
from transfers.domain.model import Caller, EventType, Movement
from transfers.domain.money import Currency

ALICE = Caller(1)


@pytest.fixture
def accepted() -> FakeAcceptanceStore:
    return FakeAcceptanceStore()


@pytest.fixture
def ledger(accepted) -> FakeLedgerStore:
    return FakeLedgerStore(accepted)


def _open(accepted) -> uuid.UUID:
    return accepted.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=10**6).id


def _accept(accepted, kind: EventType, account_id: uuid.UUID, amount: int, to: uuid.UUID | None = None):
    movement = Movement(type=kind, account_id=account_id, amount=Decimal(amount), counterparty_id=to)
    return services.accept_movement(
        caller=ALICE,
        movement=movement,
        idempotency=None,
        store=accepted,
        cache=FakeLimitCache(),
        clock=FakeClock(),
        backlog=FakeBacklog(),
        max_lag=dt.timedelta(seconds=30),
    ).event_id


def _apply(ledger, *event_ids):
    return services.apply_events(event_ids=list(event_ids), ledger=ledger, cache=FakeLimitCache())


def test_a_refused_write_reruns_the_batch_one_by_one_and_parks_only_its_account(accepted, ledger):
    accounts = [_open(accepted) for _ in range(3)]
    deposits = [_accept(accepted, EventType.DEPOSIT, a, 100) for a in accounts]
    ledger.refuse = {deposits[1]}

    result = _apply(ledger, *deposits)

    assert ledger.batches == [False, True]
    assert [o.event_id for o in result.outcomes] == [deposits[0], deposits[2]]
    assert result.parked == [deposits[1]]
    assert ledger.parked == {accounts[1]: deposits[1]}
    assert [accepted.rows[a].balance for a in accounts] == [100, 0, 100]


def test_a_parked_accounts_later_events_wait_and_credits_into_it_apply(accepted, ledger):
    parked, other = _open(accepted), _open(accepted)
    _apply(ledger, _accept(accepted, EventType.DEPOSIT, other, 500))
    refused = _accept(accepted, EventType.DEPOSIT, parked, 100)
    ledger.refuse = {refused}
    _apply(ledger, refused)
    later = _accept(accepted, EventType.WITHDRAWAL, parked, 50)
    credit = _accept(accepted, EventType.TRANSFER, other, 200, to=parked)

    result = _apply(ledger, later, credit)

    assert result.held == [refused, later]
    assert [o.event_id for o in result.outcomes] == [credit]
    assert accepted.rows[parked].balance == 200


def test_once_the_park_is_lifted_the_held_events_apply_in_acceptance_order(accepted, ledger):
    account = _open(accepted)
    refused = _accept(accepted, EventType.DEPOSIT, account, 100)
    ledger.refuse = {refused}
    _apply(ledger, refused)
    later = _accept(accepted, EventType.WITHDRAWAL, account, 100)
    _apply(ledger, later)
    ledger.refuse, ledger.parked = set(), {}

    result = _apply(ledger, later)

    assert [(o.event_id, o.status) for o in result.outcomes] == [(refused, "completed"), (later, "completed")]


def test_a_database_that_cannot_write_changes_nothing_and_parks_nothing(accepted, ledger):
    deposit = _accept(accepted, EventType.DEPOSIT, _open(accepted), 100)
    ledger.unavailable = True

    with pytest.raises(FakeDatabaseUnavailable):
        _apply(ledger, deposit)

    assert ledger.outcomes == {}
    assert ledger.parked == {}
