"""The composition root's seam: the same application the URL map gets, bound to fakes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from config import bootstrap
from tests.unit.transfers.fakes import (
    FakeAcceptanceStore,
    FakeBacklog,
    FakeClock,
    FakeLimitCache,
    FakeOpsStore,
)
from transfers.domain.model import Caller, EventType, Movement
from transfers.domain.money import Currency

ALICE = Caller(1)


def test_the_application_built_on_fakes_accepts_a_withdrawal_and_shows_what_is_left_of_the_limit():
    store = FakeAcceptanceStore()
    app = bootstrap.build_api(
        store=store,
        cache=FakeLimitCache(),
        clock=FakeClock(),
        backlog=FakeBacklog(),
        max_lag=dt.timedelta(seconds=30),
        ops=FakeOpsStore(store),
    )
    account = app.open_account(caller=ALICE, currency=Currency.KRW, daily_limit=1000)

    accepted = app.accept_movement(
        caller=ALICE, movement=Movement(EventType.WITHDRAWAL, account.id, Decimal("600")), idempotency=None
    )
    figures = app.limit_figures(account_ids=[account.id])[account.id]

    assert [event.id for event in store.events] == [accepted.event_id]
    assert (figures.pending, figures.remaining(account.daily_limit)) == (600, 400)
