"""Closing an account: only at balance 0 with nothing pending; a closed account moves no money."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from accounts.models import Account
from config import bootstrap
from tests.integration.api.support import ACCOUNT_FIELDS, assert_error, bank_state
from transfers.domain.model import AccountStatus

pytestmark = pytest.mark.django_db


def test_an_account_holding_money_cannot_be_closed(alice) -> None:
    account = alice.funded_account("KRW", "1")
    before = bank_state()

    response = alice.close(account["id"])

    assert_error(response, 422, "account_not_empty")
    assert bank_state() == before
    assert alice.account(account["id"])["status"] == "active"


def test_an_account_with_a_pending_deposit_cannot_be_closed(alice) -> None:
    account = alice.open_account("KRW")
    assert alice.deposit(account["id"], "1000").status_code == 202
    before = bank_state()

    response = alice.close(account["id"])

    assert_error(response, 422, "account_not_empty")
    assert bank_state() == before


def test_an_account_with_a_pending_withdrawal_cannot_be_closed(alice) -> None:
    account = alice.open_account("KRW")
    assert alice.withdraw(account["id"], "1000").status_code == 202
    before = bank_state()

    response = alice.close(account["id"])

    assert_error(response, 422, "account_not_empty")
    assert bank_state() == before


def test_an_account_with_a_pending_incoming_transfer_cannot_be_closed(alice, bob) -> None:
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    assert alice.transfer(source["id"], target["id"], "1000").status_code == 202
    before = bank_state()

    response = bob.close(target["id"])

    assert_error(response, 422, "account_not_empty")
    assert bank_state() == before


def test_an_empty_account_with_nothing_pending_is_closed(alice) -> None:
    account = alice.open_account("USD")

    response = alice.close(account["id"])

    assert response.status_code == 200, response.content
    closed = response.json()
    assert set(closed) == ACCOUNT_FIELDS
    assert closed["status"] == "closed"
    assert closed["balance"] == "0.00"
    assert alice.account(account["id"])["status"] == "closed"


def test_an_account_emptied_by_applied_movements_can_be_closed(alice, apply_pending) -> None:
    account = alice.funded_account("KRW", "5000")
    alice.withdraw(account["id"], "5000")
    alice.withdraw(account["id"], "1")
    apply_pending()

    response = alice.close(account["id"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


MOVEMENTS = ["deposit", "withdrawal", "transfer_from", "transfer_to"]


def _move(customer, movement: str, account_id: str, other_id: str):
    """One of MOVEMENTS of 1000 touching `account_id`; `other_id` is the transfer's other side."""
    return {
        "deposit": lambda: customer.deposit(account_id, "1000"),
        "withdrawal": lambda: customer.withdraw(account_id, "1000"),
        "transfer_from": lambda: customer.transfer(account_id, other_id, "1000"),
        "transfer_to": lambda: customer.transfer(other_id, account_id, "1000"),
    }[movement]()


@pytest.mark.parametrize("movement", MOVEMENTS)
def test_a_closed_account_moves_no_money(alice, bob, movement: str) -> None:
    closed = alice.open_account("KRW")
    assert alice.close(closed["id"]).status_code == 200
    own_other = alice.funded_account("KRW", "5000")
    before = bank_state()

    response = _move(alice, movement, closed["id"], own_other["id"])

    assert_error(response, 422, "account_closed")
    assert bank_state() == before


def test_nobody_can_transfer_to_another_users_closed_account(alice, bob) -> None:
    closed = bob.open_account("KRW")
    assert bob.close(closed["id"]).status_code == 200
    source = alice.funded_account("KRW", "5000")
    before = bank_state()

    response = alice.transfer(source["id"], closed["id"], "1000")

    assert_error(response, 422, "account_closed")
    assert bank_state() == before


def test_a_closed_account_stays_readable_and_listed(alice) -> None:
    account = alice.open_account("KRW")
    alice.close(account["id"])

    listed = alice.get("/api/v1/accounts").json()["results"]

    assert [(a["id"], a["status"]) for a in listed] == [(account["id"], "closed")]


def _closed_by_another_process(account_id: str) -> None:
    """What a close through another API process does, unseen by this process's known accounts."""
    Account.objects.filter(id=account_id).update(status=Account.Status.CLOSED, closed_at=timezone.now())


@pytest.mark.parametrize("movement", MOVEMENTS)
def test_a_movement_on_an_account_closed_by_another_process_is_refused(alice, movement: str) -> None:
    account = alice.open_account("KRW")
    own_other = alice.funded_account("KRW", "5000")
    known = bootstrap.acceptance_store().accounts(uuid.UUID(account["id"]))
    assert known[uuid.UUID(account["id"])].status is AccountStatus.ACTIVE  # as this process last saw it
    _closed_by_another_process(account["id"])
    before = bank_state()

    response = _move(alice, movement, account["id"], own_other["id"])

    assert_error(response, 422, "account_closed")
    assert bank_state() == before
    assert alice.account(account["id"])["remaining_today"] == alice.account(account["id"])["daily_limit"]


def test_closing_an_account_closed_by_another_process_answers_it_as_it_was_closed(alice) -> None:
    account = alice.open_account("KRW")
    bootstrap.acceptance_store().accounts(uuid.UUID(account["id"]))
    _closed_by_another_process(account["id"])
    closed_at = Account.objects.get(id=account["id"]).closed_at

    response = alice.close(account["id"])

    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert Account.objects.get(id=account["id"]).closed_at == closed_at
