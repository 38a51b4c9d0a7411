"""The worker's use case against the real PostgreSQL and Redis: order, redelivery, a crash before refresh."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection

from config import bootstrap
from ledger.models import Entry
from ledger.reconciliation import reconcile
from tests.support import bank
from transfers import services
from transfers.adapters.clock import SystemClock
from transfers.adapters.limit_cache import RedisLimitCache
from transfers.domain import model
from transfers.domain.errors import DailyLimitExceeded
from transfers.domain.model import Caller, EventType
from transfers.models import Event, LimitUsage, ParkedAccount

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerDiesBeforeCacheRefresh(BaseException):
    """Stands for SIGKILL between the commit and the cache refresh."""


class CacheOfAWorkerThatDiesAfterCommit(RedisLimitCache):
    """The real Redis cache, except that the process 'dies' when it would forget after the commit."""

    def __init__(self) -> None:
        super().__init__()
        self.forgets = 0

    def forget(self, account_ids) -> None:
        self.forgets += 1
        if self.forgets == 2:  # the first is before the commit
            raise WorkerDiesBeforeCacheRefresh()
        super().forget(account_ids)


@pytest.fixture
def owner() -> Caller:
    user = get_user_model().objects.create(username=f"owner-{uuid.uuid4()}")
    return Caller(user_id=user.id)


def _apply(event_ids, cache=None) -> services.AppliedBatch:
    return services.apply_events(
        event_ids=event_ids, ledger=bootstrap.ledger_store(), cache=cache or bootstrap.limit_cache()
    )


def test_a_redelivered_event_is_applied_once(owner):
    account = bank.open_account(owner)
    deposit = bank.accept(owner, EventType.DEPOSIT, account.id, "5000")

    first = _apply([deposit])
    again = _apply([deposit])

    assert [o.status for o in first.outcomes] == ["completed"]
    assert again.outcomes == []
    assert Entry.objects.filter(transaction_id=deposit).count() == 2
    assert reconcile() == []


def test_an_earlier_pending_event_of_the_sender_is_applied_before_a_later_one(owner):
    account = bank.open_account(owner)
    deposit = bank.accept(owner, EventType.DEPOSIT, account.id, "5000")
    withdrawal = bank.accept(owner, EventType.WITHDRAWAL, account.id, "5000")

    result = _apply([withdrawal])

    assert [(o.event_id, o.status) for o in result.outcomes] == [
        (deposit, "completed"),
        (withdrawal, "completed"),
    ]


def test_an_unknown_event_id_is_reported_not_applied(owner):
    stranger = uuid.uuid4()

    result = _apply([stranger])

    assert result.unknown == {stranger}
    assert result.outcomes == []


def test_a_worker_killed_between_commit_and_cache_refresh_leaves_no_stale_limit_behind(owner):
    account = bank.open_account(owner, daily_limit=100_000)
    _apply([bank.accept(owner, EventType.DEPOSIT, account.id, "50000")])
    withdrawal = bank.accept(owner, EventType.WITHDRAWAL, account.id, "60000")  # more than the balance
    day = Event.objects.get(event_id=withdrawal).business_date
    cache = bootstrap.limit_cache()
    cache.put({account.id: model.LimitFigures(day, pending=60_000, pending_out=60_000)})  # a reader's

    with pytest.raises(WorkerDiesBeforeCacheRefresh):
        _apply([withdrawal], cache=CacheOfAWorkerThatDiesAfterCommit())

    assert Event.objects.get(event_id=withdrawal).reason == "insufficient_funds"
    assert cache.get([account.id]) == {}
    full_day = bank.accept(owner, EventType.WITHDRAWAL, account.id, "100000")
    assert Event.objects.get(event_id=full_day).status == "pending"


def test_the_day_of_the_limit_is_the_day_in_the_configured_time_zone(owner):
    account = bank.open_account(owner, daily_limit=10_000)
    ahead, behind = SystemClock("Pacific/Kiritimati"), SystemClock("Pacific/Pago_Pago")  # 25 h apart

    accepted = [
        bank.accept(owner, EventType.WITHDRAWAL, account.id, "10000", clock=c) for c in (ahead, behind)
    ]

    days = [Event.objects.get(event_id=e).business_date for e in accepted]
    assert days == [clock.business_date(clock.now()) for clock in (ahead, behind)]
    assert days[0] - days[1] == dt.timedelta(days=1)
    with pytest.raises(DailyLimitExceeded):
        bank.accept(owner, EventType.WITHDRAWAL, account.id, "1", clock=ahead)


def test_an_event_the_database_refuses_stays_pending_parks_its_account_and_its_neighbours_complete(owner):
    accounts = [bank.open_account(owner) for _ in range(3)]
    _apply([bank.accept(owner, EventType.DEPOSIT, a.id, "1000") for a in accounts])
    withdrawals = [bank.accept(owner, EventType.WITHDRAWAL, a.id, "100") for a in accounts]
    bad = withdrawals[1]
    # A lost reservation: applying the event would push `pending` below zero, which a CHECK refuses.
    LimitUsage.objects.filter(account_id=accounts[1].id).update(pending=0)

    result = _apply(withdrawals)

    assert result.parked == [bad]
    assert list(ParkedAccount.objects.values_list("account_id", "event_id")) == [(accounts[1].id, bad)]
    assert sorted(o.event_id for o in result.outcomes) == sorted([withdrawals[0], withdrawals[2]])
    statuses = dict(Event.objects.filter(event_id__in=withdrawals).values_list("event_id", "status"))
    assert statuses == {withdrawals[0]: "completed", bad: "pending", withdrawals[2]: "completed"}
    assert not Entry.objects.filter(transaction_id=bad).exists()


def test_a_later_event_of_a_parked_account_is_held_and_a_credit_into_it_applies(owner):
    parked, other = bank.open_account(owner), bank.open_account(owner)
    _apply([bank.accept(owner, EventType.DEPOSIT, a.id, "1000") for a in (parked, other)])
    refused = bank.accept(owner, EventType.WITHDRAWAL, parked.id, "100")
    LimitUsage.objects.filter(account_id=parked.id).update(pending=0)
    _apply([refused])
    later = bank.accept(owner, EventType.DEPOSIT, parked.id, "50")
    credit = bank.accept(owner, EventType.TRANSFER, other.id, "200", to=parked.id)

    result = _apply([later, credit])

    assert result.held == [refused, later]
    assert [o.event_id for o in result.outcomes] == [credit]
    assert Event.objects.get(event_id=later).status == "pending"


def test_a_data_refusal_is_told_apart_from_a_database_that_cannot_write(owner):
    account = bank.open_account(owner)
    deposit = bank.accept(owner, EventType.DEPOSIT, account.id, "1000")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE transfers_event RENAME COLUMN processed_at TO processed_at_gone")
    try:
        with pytest.raises(DatabaseError):
            _apply([deposit])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE transfers_event RENAME COLUMN processed_at_gone TO processed_at")

    assert not ParkedAccount.objects.exists()
    assert Event.objects.get(event_id=deposit).status == "pending"
    assert [o.status for o in _apply([deposit]).outcomes] == ["completed"]
