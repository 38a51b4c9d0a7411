"""The worker against refused events and database-wide failures, on the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from config import bootstrap
from ledger.reconciliation import reconcile
from messaging.consumer import EventConsumer
from messaging.topology import DEAD_LETTER_QUEUE, apply_queue
from tests.integration.messaging.support import queued, relay_once
from tests.support import bank
from transfers.domain.model import Caller, EventType
from transfers.models import Event, LimitUsage, ParkedAccount

pytestmark = pytest.mark.django_db(transaction=True)


class RunningConsumer:
    """The real consumer in a thread; remembers whether it died."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.died: BaseException | None = None
        self.consumer = EventConsumer(
            url=settings.RABBITMQ_URL,
            shard=0,
            shards=1,
            stop=self.stop,
            ledger=bootstrap.ledger_store(),
            cache=bootstrap.limit_cache(),
        )
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            self.consumer.run()
        except BaseException as exc:
            self.died = exc


@pytest.fixture
def consumer() -> Iterator[Callable[[], RunningConsumer]]:
    running: list[RunningConsumer] = []

    def start() -> RunningConsumer:
        worker = RunningConsumer()
        worker.thread.start()
        running.append(worker)
        return worker

    yield start
    for worker in running:
        worker.stop.set()
        worker.thread.join(30)


@pytest.fixture
def owner() -> Caller:
    return Caller(user_id=get_user_model().objects.create(username=f"owner-{uuid.uuid4()}").id)


def _open(caller: Caller) -> uuid.UUID:
    return bank.open_account(caller).id


def _statuses(*event_ids: uuid.UUID) -> list[str]:
    found = dict(Event.objects.filter(event_id__in=event_ids).values_list("event_id", "status"))
    return [found[e] for e in event_ids]


def _wait_for(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


def _apply_order(*event_ids: uuid.UUID) -> list[uuid.UUID]:
    return list(Event.objects.filter(event_id__in=event_ids).order_by("processed_at", "seq").values_list(
        "event_id", flat=True
    ))  # fmt: skip


def _refuse_writes_of(account_id: uuid.UUID) -> None:
    """Lose the account's limit reservations: applying its pending withdrawal would push `pending`
    below zero, which a CHECK constraint refuses."""
    LimitUsage.objects.filter(account_id=account_id).update(pending=0)


def test_a_refused_event_parks_its_account_and_nothing_overtakes_it_or_stops(channel, consumer, owner):
    parked, other = _open(owner), _open(owner)
    worker = consumer()
    funding = [bank.accept(owner, EventType.DEPOSIT, a, "10000") for a in (parked, other)]
    relay_once()
    _wait_for(lambda: _statuses(*funding) == ["completed", "completed"])
    worker.stop.set()
    worker.thread.join(30)
    refused = bank.accept(owner, EventType.WITHDRAWAL, parked, "1000")
    _refuse_writes_of(parked)
    relay_once()

    worker = consumer()
    _wait_for(lambda: ParkedAccount.objects.filter(account_id=parked).exists())
    later = [
        bank.accept(owner, EventType.DEPOSIT, parked, "500"),
        bank.accept(owner, EventType.WITHDRAWAL, parked, "10500"),
        bank.accept(owner, EventType.TRANSFER, parked, "100", to=other),
    ]
    credit = bank.accept(owner, EventType.TRANSFER, other, "2000", to=parked)
    unrelated = bank.accept(owner, EventType.DEPOSIT, other, "700")
    relay_once()
    _wait_for(lambda: _statuses(credit, unrelated) == ["completed", "completed"])
    time.sleep(0.5)  # a held event would have been applied by now if it were not held

    assert worker.died is None
    assert worker.thread.is_alive()
    assert _statuses(refused, *later) == ["pending"] * 4
    assert queued(channel, DEAD_LETTER_QUEUE) == []
    assert "usage_not_negative" in ParkedAccount.objects.get(account_id=parked).error
    listing = _stuck()
    assert listing.startswith("1 parked account(s)")
    assert f"account {parked} parked" in listing
    assert f"withdrawal of 1000 KRW {refused} refused; 4 of its events pending, this one first" in listing

    LimitUsage.objects.filter(account_id=parked).update(pending=1000 + 10500 + 100)  # the cause, fixed
    call_command("replay_events", "--parked")
    relay_once()
    _wait_for(lambda: "pending" not in _statuses(refused, *later))

    assert _statuses(refused, *later) == ["completed", "completed", "completed", "completed"]
    assert _apply_order(refused, *later) == [refused, *later]
    assert not ParkedAccount.objects.exists()
    assert worker.died is None
    assert _stuck() == "nothing is stuck\n"
    assert reconcile() == []


def _stuck() -> str:
    """`manage.py stuck`'s listing; it exits 1 exactly when something is listed."""
    output = io.StringIO()
    code = 0
    try:
        call_command("stuck", stdout=output)
    except SystemExit as exit:
        code = exit.code
    assert code == (0 if output.getvalue() == "nothing is stuck\n" else 1)
    return output.getvalue()


@contextmanager
def _column_renamed(table: str, column: str) -> Iterator[Callable[[], None]]:
    """A bad deploy: a column the worker writes is renamed; calling the yielded function fixes it."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME COLUMN {column} TO {column}_gone")
    fixed = False

    def fix() -> None:
        nonlocal fixed
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_gone TO {column}")
        fixed = True

    try:
        yield fix
    finally:
        if not fixed:
            fix()


def test_a_database_wide_failure_delays_the_backlog_without_dead_lettering_or_parking_it(
    channel, consumer, owner, caplog
):
    accounts = [_open(owner) for _ in range(3)]
    backlog = [bank.accept(owner, EventType.DEPOSIT, a, "1000") for a in accounts for _ in range(4)]
    relay_once()

    with _column_renamed("ledger_entry", "balance_after") as fix:
        worker = consumer()
        time.sleep(2)
        during = _statuses(*backlog)
        fix()
        _wait_for(lambda: set(_statuses(*backlog)) == {"completed"}, seconds=30)

    assert set(during) == {"pending"}
    # One session throughout: the deliveries stayed unacked on it rather than return to the queue.
    assert [r.getMessage() for r in caplog.records].count(f"consuming {apply_queue(0, 1)}") == 1
    assert worker.died is None
    assert worker.thread.is_alive()
    assert queued(channel, DEAD_LETTER_QUEUE) == []
    assert not ParkedAccount.objects.exists()
    assert reconcile() == []
