"""Reconciliation against the real database: each fault planted in a consistent ledger is caught."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from config import bootstrap
from ledger import reconciliation
from ledger.reconciliation import reconcile
from tests.support import bank
from transfers import services
from transfers.domain.model import Caller, EventType
from transfers.domain.money import Currency
from transfers.models import Event

ENTRIES_OF_NO_EVENT = "every journal entry belongs to an event"
POSTINGS = "each completed event has exactly the two postings its type implies, others none"
PENDING_TOO_LONG = "no event stays pending longer than allowed"
SETTLEMENT_BALANCE = "settlement balances stay 0 (their position is the sum of their entries)"


@dataclass(frozen=True)
class SmallLedger:
    """KRW accounts: the sender deposited 10,000, sent 3,000 to the receiver and withdrew 1,000; the
    receiver's 5,000 withdrawal was rejected; the sender's 500 withdrawal is accepted, not applied."""

    sender: uuid.UUID
    receiver: uuid.UUID
    bystander: uuid.UUID
    deposit: uuid.UUID
    transfer: uuid.UUID
    pending: uuid.UUID


@pytest.fixture
def ledger() -> SmallLedger:
    user = get_user_model().objects.create(username=f"owner-{uuid.uuid4()}")
    caller = Caller(user_id=user.id)
    store, cache = bootstrap.acceptance_store(), bootstrap.limit_cache()
    sender, receiver, bystander = (
        services.open_account(caller=caller, currency=Currency.KRW, daily_limit=None, store=store).id
        for _ in range(3)
    )

    def accept(kind: EventType, account: uuid.UUID, amount: str, to: uuid.UUID | None = None) -> uuid.UUID:
        return bank.accept(caller, kind, account, amount, to=to)

    deposit = accept(EventType.DEPOSIT, sender, "10000")
    transfer = accept(EventType.TRANSFER, sender, "3000", to=receiver)
    applied = [deposit, transfer, accept(EventType.WITHDRAWAL, sender, "1000")]
    applied.append(accept(EventType.WITHDRAWAL, receiver, "5000"))  # more than the receiver holds
    services.apply_events(event_ids=applied, ledger=bootstrap.ledger_store(), cache=cache)
    pending = accept(EventType.WITHDRAWAL, sender, "500")
    assert Event.objects.get(event_id=applied[-1]).reason == "insufficient_funds"
    return SmallLedger(sender, receiver, bystander, deposit, transfer, pending)


@contextmanager
def _journal_open_for_planting() -> Iterator:
    """Lift the journal's append-only trigger in this transaction, as a hand edit or a faulty worker could."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def _move_money_without_an_event(ledger: SmallLedger) -> uuid.UUID:
    """500 from the sender to the bystander: balanced entries, balances to match, and no event."""
    journal_transaction = uuid.uuid4()
    sender_balance = Account.objects.get(id=ledger.sender).balance - 500
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_entry"
            " (transaction_id, account_id, type, amount, balance_after, counterparty_id, created_at)"
            " VALUES (%s, %s, 'transfer_out', -500, %s, %s, now()),"
            " (%s, %s, 'transfer_in', 500, 500, %s, now())",
            [journal_transaction, ledger.sender, sender_balance, ledger.bystander,
             journal_transaction, ledger.bystander, ledger.sender],
        )  # fmt: skip
    Account.objects.filter(id=ledger.sender).update(balance=sender_balance)
    Account.objects.filter(id=ledger.bystander).update(balance=500)
    return journal_transaction


def _credit_the_transfer_to_another_account(ledger: SmallLedger) -> uuid.UUID:
    """The transfer's 3,000 credited to the bystander, not its to_account; balances follow the journal."""
    with _journal_open_for_planting() as cursor:
        cursor.execute(
            "UPDATE ledger_entry SET account_id = %s WHERE transaction_id = %s AND type = 'transfer_in'",
            [ledger.bystander, ledger.transfer],
        )
    Account.objects.filter(id=ledger.receiver).update(balance=0)
    Account.objects.filter(id=ledger.bystander).update(balance=3000)
    return ledger.transfer


def _journal_the_deposit_as_a_withdrawal(ledger: SmallLedger) -> uuid.UUID:
    with _journal_open_for_planting() as cursor:
        cursor.execute(
            "UPDATE ledger_entry SET type = 'withdrawal' WHERE transaction_id = %s AND type = 'deposit'",
            [ledger.deposit],
        )
    return ledger.deposit


def _settle_the_deposit_in_another_currency(ledger: SmallLedger) -> uuid.UUID:
    """The KRW deposit's other side posted on the USD settlement account."""
    usd_settlement = Account.objects.get(kind="settlement", currency="USD").id
    with _journal_open_for_planting() as cursor:
        cursor.execute(
            "UPDATE ledger_entry SET account_id = %s WHERE transaction_id = %s AND type = 'settlement'",
            [usd_settlement, ledger.deposit],
        )
    return ledger.deposit


def _leave_an_event_pending_for_two_hours(ledger: SmallLedger) -> uuid.UUID:
    Event.objects.filter(event_id=ledger.pending).update(created_at=timezone.now() - dt.timedelta(hours=2))
    return ledger.pending


def _write_the_settlement_balance(ledger: SmallLedger) -> uuid.UUID:
    settlement = Account.objects.get(kind="settlement", currency="KRW")
    Account.objects.filter(id=settlement.id).update(balance=9000)
    return settlement.id


FAULTS = [
    pytest.param(_move_money_without_an_event, ENTRIES_OF_NO_EVENT, id="entries-of-no-event"),
    pytest.param(_credit_the_transfer_to_another_account, POSTINGS, id="transfer-credited-elsewhere"),
    pytest.param(_journal_the_deposit_as_a_withdrawal, POSTINGS, id="deposit-journaled-as-withdrawal"),
    pytest.param(_settle_the_deposit_in_another_currency, POSTINGS, id="deposit-settled-in-usd"),
    pytest.param(_leave_an_event_pending_for_two_hours, PENDING_TOO_LONG, id="pending-for-two-hours"),
    pytest.param(_write_the_settlement_balance, SETTLEMENT_BALANCE, id="settlement-balance-written"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("plant", "check"), FAULTS)
def test_reconcile_catches_exactly_the_planted_fault_and_names_it(
    ledger: SmallLedger, plant: Callable[[SmallLedger], uuid.UUID], check: str
):
    assert reconcile() == []

    culprit = plant(ledger)

    findings = reconcile()
    assert [finding.check for finding in findings] == [check]
    assert any(culprit in row for row in findings[0].rows)


@pytest.mark.django_db
@pytest.mark.parametrize(("plant", "check"), FAULTS)
def test_the_reconcile_command_reports_the_planted_fault_and_exits_1(
    ledger: SmallLedger, plant: Callable[[SmallLedger], uuid.UUID], check: str
):
    culprit = plant(ledger)
    output = io.StringIO()

    with pytest.raises(CommandError, match=r"1 invariant\(s\) broken"):
        call_command("reconcile", stdout=output)

    lines = output.getvalue().splitlines()
    assert [line.split("  (")[0] for line in lines if "BROKEN" in line] == [f"BROKEN {check}"]
    assert str(culprit) in output.getvalue()


@pytest.mark.django_db
def test_an_event_pending_for_less_than_the_age_asked_for_is_not_stuck(ledger: SmallLedger):
    _leave_an_event_pending_for_two_hours(ledger)
    output = io.StringIO()

    call_command("reconcile", "--pending-older-than", "10800", stdout=output)

    assert reconcile(pending_older_than=dt.timedelta(hours=3)) == []
    assert "BROKEN" not in output.getvalue()
    assert f"ok     {PENDING_TOO_LONG}" in output.getvalue()


@pytest.fixture
def session_statement_timeout_of_10ms() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '10ms'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")


@pytest.mark.django_db(transaction=True)
def test_a_session_statement_timeout_does_not_cut_reconciliation_short(
    session_statement_timeout_of_10ms, monkeypatch
):
    # As on a long history: one check runs longer than the session allows any statement.
    monkeypatch.setitem(
        reconciliation.CHECKS,
        "a check slower than the session's timeout",
        "SELECT * FROM pg_sleep(0.05) WHERE random() < 0",
    )

    assert reconcile() == []

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("10ms",)
