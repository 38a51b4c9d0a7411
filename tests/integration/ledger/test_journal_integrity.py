"""The database itself refuses an unbalanced journal transaction and any change to the journal."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from accounts.models import Account
from ledger.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> Account:
    owner = get_user_model().objects.create(username=f"owner-{uuid.uuid4()}")
    return Account.objects.create(owner=owner, currency="KRW", daily_limit=1000)


def test_a_transaction_that_does_not_sum_to_zero_is_refused(account):
    settlement = Account.objects.get(kind="settlement", currency="KRW")
    journal_transaction = uuid.uuid4()

    with pytest.raises(IntegrityError, match="sums to"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_entry (transaction_id, account_id, type, amount, created_at)"
            " VALUES (%s, %s, 'deposit', 500, now()), (%s, %s, 'settlement', -499, now())",
            [journal_transaction, account.id, journal_transaction, settlement.id],
        )


def test_journal_entries_cannot_be_changed_or_deleted(account):
    settlement = Account.objects.get(kind="settlement", currency="KRW")
    journal_transaction = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_entry (transaction_id, account_id, type, amount, created_at)"
            " VALUES (%s, %s, 'deposit', 500, now()), (%s, %s, 'settlement', -500, now())",
            [journal_transaction, account.id, journal_transaction, settlement.id],
        )
    entry = Entry.objects.get(transaction_id=journal_transaction, account=account)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).delete()


def test_a_negative_balance_is_refused(account):
    with pytest.raises(IntegrityError, match="account_balance_not_negative"), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1)
