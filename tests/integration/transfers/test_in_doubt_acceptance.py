"""Accepting when the database connection breaks after the commit was sent: the outcome is read back.

The test database is reached through a TcpProxy that loses the reply to one chosen statement after
PostgreSQL ran it, as a network cut or a server crash right after the commit would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection

from accounts.tables import DjangoAccountTable
from config import bootstrap
from messaging.models import OutboxMessage
from messaging.outbox import DjangoOutboxTable
from tests.integration.api.support import Customer
from tests.support.proxy import TcpProxy
from transfers import services
from transfers.adapters.acceptance_store import DjangoAcceptanceStore
from transfers.domain import errors
from transfers.domain.model import Caller, EventType, IdempotencyKey, Movement
from transfers.domain.money import Currency
from transfers.models import Event, IdempotencyRecord

# Real commits: the in-doubt moment is the COMMIT itself, which a test transaction would never send.
pytestmark = pytest.mark.django_db(transaction=True)

ACCEPTING_STATEMENT = b"remit_outbox"  # in the text of the one statement that accepts an event
COMMIT = b"COMMIT"


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """The default database connection, and so the read-back, go through the proxy during the test."""
    settings = connection.settings_dict
    direct = settings["HOST"], settings["PORT"]
    with TcpProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432), seed=1) as running:
        connection.close()
        settings["HOST"], settings["PORT"] = "127.0.0.1", running.port
        try:
            yield running
        finally:
            connection.close()
            settings["HOST"], settings["PORT"] = direct


@pytest.fixture
def owner() -> Caller:
    user = get_user_model().objects.create(username=f"owner-{uuid.uuid4()}")
    return Caller(user_id=user.id)


@pytest.fixture
def store() -> DjangoAcceptanceStore:
    return DjangoAcceptanceStore(accounts=DjangoAccountTable(), outbox=DjangoOutboxTable())


def _deposit(owner: Caller, store: DjangoAcceptanceStore, account_id: uuid.UUID, *, key: str | None = None):
    return services.accept_movement(
        caller=owner,
        movement=Movement(type=EventType.DEPOSIT, account_id=account_id, amount=Decimal("5000")),
        idempotency=IdempotencyKey(owner.user_id, "POST deposits", key) if key else None,
        store=store,
        cache=bootstrap.limit_cache(),
        clock=bootstrap.clock(),
        backlog=bootstrap.backlog(),
        max_lag=bootstrap.max_accept_lag(),
    )


def _open(owner: Caller, store: DjangoAcceptanceStore):
    return services.open_account(caller=owner, currency=Currency.KRW, daily_limit=None, store=store)


def test_a_deposit_whose_reply_was_lost_after_it_committed_is_accepted(proxy, owner, store):
    account = _open(owner, store)
    proxy.drop_replies(1.0, containing=ACCEPTING_STATEMENT)

    acceptance = _deposit(owner, store, account.id)

    assert proxy.counters["dropped_replies"] == 1
    assert Event.objects.filter(account_id=account.id).count() == 1
    assert Event.objects.get(account_id=account.id).event_id == acceptance.event_id
    assert OutboxMessage.objects.filter(event_id=acceptance.event_id).count() == 1


def test_a_keyed_deposit_whose_commit_reply_was_lost_is_accepted_once(proxy, owner, store):
    account = _open(owner, store)
    proxy.drop_replies(1.0, containing=COMMIT)

    acceptance = _deposit(owner, store, account.id, key="order-1")
    proxy.heal()
    replay = _deposit(owner, store, account.id, key="order-1")

    assert proxy.counters["dropped_replies"] == 1
    assert Event.objects.filter(account_id=account.id).count() == 1
    assert IdempotencyRecord.objects.get(key="order-1").event_id == acceptance.event_id
    assert replay.replayed
    assert replay.event_id == acceptance.event_id


def test_a_reply_lost_before_the_keyed_commit_was_sent_means_nothing_was_accepted(proxy, owner, store):
    account = _open(owner, store)
    proxy.drop_replies(1.0, containing=ACCEPTING_STATEMENT)

    with pytest.raises(DatabaseError):
        _deposit(owner, store, account.id, key="order-2")

    assert proxy.counters["dropped_replies"] == 1
    assert not Event.objects.filter(account_id=account.id).exists()
    assert not IdempotencyRecord.objects.filter(key="order-2").exists()


def test_a_statement_sent_on_a_dead_session_is_read_back_as_not_accepted(owner, store):
    account = _open(owner, store)
    _deposit(owner, store, account.id)  # the account is now known: accepting sends one statement
    # Admission control reads the backlog at most once a second: read it now, so that on a slow
    # machine its read does not meet the dead session before the accepting statement does.
    bootstrap.backlog().oldest_pending_at()
    _terminate(connection.connection.info.backend_pid)

    with pytest.raises(DatabaseError):
        _deposit(owner, store, account.id)
    connection.close_if_unusable_or_obsolete()  # as Django does when a request ends

    assert Event.objects.filter(account_id=account.id).count() == 1


def _refusing(proxy: TcpProxy) -> None:
    proxy.refuse_connections()


def _hanging_on_connect(proxy: TcpProxy) -> None:
    proxy.blackhole()


def _hanging_after_connect(proxy: TcpProxy) -> None:
    """The read-back connects, then its first statement gets no answer and no FIN."""
    proxy.on_drop = None
    proxy.drop_replies(1.0, containing=b"pg_terminate_backend", hang=True)


@pytest.mark.parametrize(
    ("database_after_the_drop", "key", "lost_reply"),
    [
        pytest.param(_refusing, None, ACCEPTING_STATEMENT, id="refusing"),
        pytest.param(_hanging_on_connect, None, ACCEPTING_STATEMENT, id="hanging-on-connect"),
        pytest.param(_hanging_after_connect, None, ACCEPTING_STATEMENT, id="hanging-after-connect"),
        pytest.param(_refusing, "order-3", COMMIT, id="refusing-after-the-keyed-commit"),
    ],
)
def test_when_the_outcome_cannot_be_read_back_it_is_unknown_with_the_event_id(
    proxy, owner, store, database_after_the_drop, key, lost_reply
):
    account = _open(owner, store)
    proxy.on_drop = lambda: database_after_the_drop(proxy)
    proxy.drop_replies(1.0, containing=lost_reply)
    started = time.monotonic()

    with pytest.raises(errors.OutcomeUnknown) as unknown:
        _deposit(owner, store, account.id, key=key)

    took = time.monotonic() - started
    proxy.heal()
    assert took < 6, f"the read-back took {took:.1f}s"
    assert unknown.value.code == "outcome_unknown"
    # The reply was lost after PostgreSQL ran the statement: the event the answer names exists.
    assert Event.objects.get(account_id=account.id).event_id == unknown.value.event_id


def _terminate(backend_pid: int) -> None:
    """End a session from another one, as an administrator or a server crash would."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"]
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [backend_pid])


def test_the_api_answers_outcome_unknown_with_the_event_id_and_its_location(proxy, api_client_for):
    alice = Customer(sub="alice", client=api_client_for(f"alice-{uuid.uuid4()}"))
    account = alice.open_account("KRW")
    proxy.on_drop = proxy.refuse_connections
    proxy.drop_replies(1.0, containing=ACCEPTING_STATEMENT)

    response = alice.deposit(account["id"], "5000")
    proxy.heal()

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "outcome_unknown"
    assert response["Location"] == f"/api/v1/events/{error['event_id']}"
    # The reply was lost after the commit: the event is there to read.
    assert alice.get(response["Location"]).json()["event_id"] == error["event_id"]


@pytest.mark.parametrize(
    ("lost", "key"), [(ACCEPTING_STATEMENT, None), (COMMIT, "order-9")], ids=["statement", "keyed-commit"]
)
def test_a_reply_lost_on_a_connection_left_open_and_silent_is_cut_and_read_back(
    proxy, owner, store, lost, key
):
    account = _open(owner, store)
    proxy.drop_replies(1.0, containing=lost, hang=True)
    started = time.monotonic()

    acceptance = _deposit(owner, store, account.id, key=key)

    assert time.monotonic() - started < settings.DATABASE_REPLY_DEADLINE_SECONDS + 3
    assert Event.objects.get(account_id=account.id).event_id == acceptance.event_id
