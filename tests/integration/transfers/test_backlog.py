"""Admission control's view of the backlog on the real PostgreSQL: what counts, and how often it is read."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.tables import DjangoAccountTable
from messaging.outbox import DjangoOutboxTable
from transfers import services
from transfers.adapters.acceptance_store import DjangoAcceptanceStore
from transfers.adapters.backlog import DjangoBacklog
from transfers.domain.model import AcceptedEvent, Caller, EventType, Movement
from transfers.domain.money import Currency
from transfers.models import Event, ParkedAccount

NOW = timezone.now()


class Stopwatch:
    """A monotonic clock the test moves by hand, shared by all threads."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def store() -> DjangoAcceptanceStore:
    return DjangoAcceptanceStore(accounts=DjangoAccountTable(), outbox=DjangoOutboxTable())


@pytest.fixture
def nothing_else_pending() -> None:
    """Events other tests left pending would be older than this test's; the test's own transaction
    (or the flush after a transactional test) forgets that they were made final here."""
    Event.objects.filter(status=Event.Status.PENDING).update(status=Event.Status.COMPLETED, processed_at=NOW)


def _account(store: DjangoAcceptanceStore) -> uuid.UUID:
    caller = Caller(get_user_model().objects.create(username=f"backlog-{uuid.uuid4()}").id)
    return services.open_account(caller=caller, currency=Currency.KRW, daily_limit=None, store=store).id


def _accepted(
    store: DjangoAcceptanceStore, account_id: uuid.UUID, seconds_ago: float, *, to: uuid.UUID | None = None
) -> AcceptedEvent:
    """A pending event (a deposit, or a transfer `to` another account) accepted `seconds_ago`."""
    kind = EventType.TRANSFER if to else EventType.DEPOSIT
    accepted_at = NOW - dt.timedelta(seconds=seconds_ago)
    owner = store.accounts(account_id)[account_id].owner_id
    event = AcceptedEvent(
        id=uuid.uuid4(),
        movement=Movement(kind, account_id, Decimal("100"), counterparty_id=to),
        amount=100,
        currency=Currency.KRW,
        requested_by=owner,
        business_date=accepted_at.date(),
        accepted_at=accepted_at,
    )
    store.add_event(event, reserve_within=None)
    return event


def _park(account_id: uuid.UUID, event: AcceptedEvent) -> None:
    ParkedAccount.objects.create(account_id=account_id, event_id=event.id, error="refused", parked_at=NOW)


def _complete(event: AcceptedEvent) -> None:
    Event.objects.filter(event_id=event.id).update(status=Event.Status.COMPLETED, processed_at=NOW)


@pytest.mark.django_db
def test_with_nothing_pending_there_is_no_oldest_event(nothing_else_pending):
    assert DjangoBacklog().oldest_pending_at() is None


@pytest.mark.django_db
def test_the_oldest_is_the_first_pending_event_in_acceptance_order(nothing_else_pending, store):
    account = _account(store)
    applied = _accepted(store, account, seconds_ago=90)
    first = _accepted(store, account, seconds_ago=60)
    _accepted(store, account, seconds_ago=30)
    _complete(applied)

    assert DjangoBacklog().oldest_pending_at() == first.accepted_at


@pytest.mark.django_db
def test_events_held_behind_a_parked_account_do_not_count(nothing_else_pending, store):
    parked, other = _account(store), _account(store)
    refused = _accepted(store, parked, seconds_ago=3600)
    _accepted(store, parked, seconds_ago=3000)  # held behind the refused one
    waiting = _accepted(store, other, seconds_ago=20)
    _park(parked, refused)

    assert DjangoBacklog().oldest_pending_at() == waiting.accepted_at


@pytest.mark.django_db
def test_a_transfer_into_a_parked_account_still_counts(nothing_else_pending, store):
    parked, sender = _account(store), _account(store)
    _park(parked, _accepted(store, parked, seconds_ago=3600))
    credit = _accepted(store, sender, seconds_ago=100, to=parked)  # the worker still applies credits

    assert DjangoBacklog().oldest_pending_at() == credit.accepted_at


@pytest.mark.django_db
def test_the_value_is_read_again_only_once_a_second_has_passed(
    nothing_else_pending, store, django_assert_num_queries
):
    account = _account(store)
    first, second = _accepted(store, account, seconds_ago=60), _accepted(store, account, seconds_ago=30)
    stopwatch = Stopwatch()
    backlog = DjangoBacklog(monotonic=stopwatch)
    assert backlog.oldest_pending_at() == first.accepted_at
    _complete(first)

    stopwatch.seconds = 0.999
    with django_assert_num_queries(0):
        assert backlog.oldest_pending_at() == first.accepted_at
    stopwatch.seconds = 1.0
    with django_assert_num_queries(1):
        assert backlog.oldest_pending_at() == second.accepted_at
    with django_assert_num_queries(0):
        assert backlog.oldest_pending_at() == second.accepted_at


@pytest.mark.django_db(transaction=True)
def test_while_one_thread_reads_the_others_answer_at_once_with_the_value_before(nothing_else_pending, store):
    account = _account(store)
    first, second = _accepted(store, account, seconds_ago=60), _accepted(store, account, seconds_ago=30)
    stopwatch = Stopwatch()
    backlog = DjangoBacklog(monotonic=stopwatch)
    assert backlog.oldest_pending_at() == first.accepted_at
    _complete(first)
    stopwatch.seconds = 1.0
    answers: dict[str, object] = {}

    def ask(name: str) -> None:
        answers[name] = backlog.oldest_pending_at()
        connection.close()  # each thread's own connection

    database = connection.settings_dict
    with psycopg.connect(
        host=database["HOST"], port=database["PORT"], user=database["USER"], dbname=database["NAME"]
    ) as blocker:
        # The reading thread waits for this lock, as it would for a slow query.
        blocker.execute(f"LOCK TABLE {ParkedAccount._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        reader = threading.Thread(target=ask, args=("reader",))
        reader.start()
        _wait_until_a_query_waits_for_a_lock()
        others = [threading.Thread(target=ask, args=(f"other-{i}",)) for i in range(4)]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(timeout=5)
        answered_while_reading = dict(answers)
        blocker.rollback()
    reader.join(timeout=5)

    assert answered_while_reading == {f"other-{i}": first.accepted_at for i in range(4)}
    assert answers["reader"] == second.accepted_at
    assert backlog.oldest_pending_at() == second.accepted_at


def _wait_until_a_query_waits_for_a_lock(timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the reading thread never waited for the lock")
