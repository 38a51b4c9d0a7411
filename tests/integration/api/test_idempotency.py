"""Idempotency-Key: the same request with the same key is accepted once; scope, reuse and bad keys."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.integration.api.support import assert_error, bank_state, events_of, new_key
from transfers.models import Event, IdempotencyRecord, LimitUsage

pytestmark = pytest.mark.django_db


def test_the_same_request_with_the_same_key_gets_the_first_202_again(alice) -> None:
    account = alice.open_account("KRW")
    key = new_key()
    first = alice.deposit(account["id"], "5000", key=key)

    again = alice.deposit(account["id"], "5000", key=key)

    assert first.status_code == again.status_code == 202
    assert again.json()["event_id"] == first.json()["event_id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(events_of(account["id"])) == 1


def test_a_replay_after_the_event_was_applied_still_names_the_first_event(alice, apply_pending) -> None:
    account = alice.funded_account("KRW", "10000")
    key = new_key()
    first = alice.withdraw(account["id"], "3000", key=key).json()
    apply_pending()

    again = alice.withdraw(account["id"], "3000", key=key)

    assert again.status_code == 202
    assert again.json()["event_id"] == first["event_id"]
    assert alice.account(account["id"])["balance"] == "7000"
    assert len([e for e in events_of(account["id"]) if e.type == "withdrawal"]) == 1


def test_amounts_that_differ_only_in_spelling_make_the_same_request(alice) -> None:
    account = alice.open_account("USD")
    key = new_key()
    first = alice.deposit(account["id"], "12.5", key=key)

    again = alice.deposit(account["id"], "12.50", key=key)

    assert first.status_code == 202, first.content
    assert again.status_code == 202, again.content
    assert again.json()["event_id"] == first.json()["event_id"]
    assert len(events_of(account["id"])) == 1


def test_transfer_amounts_that_differ_only_in_spelling_make_the_same_request(alice, bob) -> None:
    source, target = alice.funded_account("EUR", "100"), bob.open_account("EUR")
    key = new_key()
    first = alice.transfer(source["id"], target["id"], "7.50", key=key)

    again = alice.transfer(source["id"], target["id"], "7.5", key=key)

    assert first.status_code == 202, first.content
    assert again.status_code == 202, again.content
    assert again.json()["event_id"] == first.json()["event_id"]


def test_a_key_remembered_23_hours_ago_still_gets_the_first_202(alice) -> None:
    account = alice.open_account("KRW")
    key = new_key()
    first = alice.deposit(account["id"], "5000", key=key).json()
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - dt.timedelta(hours=23))

    again = alice.deposit(account["id"], "5000", key=key)

    assert again.status_code == 202
    assert again.json()["event_id"] == first["event_id"]
    assert len(events_of(account["id"])) == 1


def test_a_key_older_than_24_hours_binds_no_longer(alice) -> None:
    account = alice.open_account("KRW")
    key = new_key()
    first = alice.deposit(account["id"], "5000", key=key).json()
    IdempotencyRecord.objects.filter(key=key).update(created_at=timezone.now() - dt.timedelta(hours=25))

    later = alice.deposit(account["id"], "7000", key=key)

    assert later.status_code == 202, later.content
    assert later.json()["event_id"] != first["event_id"]
    assert len(events_of(account["id"])) == 2


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"amount": "5001"}, id="other-amount"),
        pytest.param({"amount": "5000", "reference": "invoice 7"}, id="other-reference"),
    ],
)
def test_the_same_key_with_a_different_request_is_refused(alice, changed: dict) -> None:
    account = alice.open_account("KRW")
    key = new_key()
    first = alice.deposit(account["id"], "5000", key=key)
    assert first.status_code == 202
    before = bank_state()

    response = alice.post(f"/api/v1/accounts/{account['id']}/deposits", changed, key=key)

    assert_error(response, 422, "idempotency_key_reused")
    assert bank_state() == before


def test_the_same_key_for_a_transfer_to_another_account_is_refused(alice, bob) -> None:
    source = alice.funded_account("KRW", "10000")
    one, other = bob.open_account("KRW"), bob.open_account("KRW")
    key = new_key()
    assert alice.transfer(source["id"], one["id"], "1000", key=key).status_code == 202
    before = bank_state()

    response = alice.transfer(source["id"], other["id"], "1000", key=key)

    assert_error(response, 422, "idempotency_key_reused")
    assert bank_state() == before


def test_the_same_key_on_another_path_is_independent(alice) -> None:
    account = alice.funded_account("KRW", "10000")
    other = alice.open_account("KRW")
    key = new_key()

    deposit = alice.deposit(account["id"], "1000", key=key)
    withdrawal = alice.withdraw(account["id"], "1000", key=key)
    other_deposit = alice.deposit(other["id"], "1000", key=key)

    assert [r.status_code for r in (deposit, withdrawal, other_deposit)] == [202, 202, 202]
    assert len({r.json()["event_id"] for r in (deposit, withdrawal, other_deposit)}) == 3


def test_the_same_key_used_by_another_user_is_independent(alice, bob) -> None:
    alices, bobs = alice.funded_account("KRW", "10000"), bob.funded_account("KRW", "10000")
    key = new_key()

    by_alice = alice.transfer(alices["id"], bobs["id"], "1000", key=key)
    by_bob = bob.transfer(bobs["id"], alices["id"], "1000", key=key)

    assert by_alice.status_code == by_bob.status_code == 202
    assert by_alice.json()["event_id"] != by_bob.json()["event_id"]


def test_a_request_refused_for_its_daily_limit_may_be_retried_with_the_same_key(alice, apply_pending) -> None:
    account = alice.open_account("KRW", daily_limit="10000")
    # Accepted against an empty account, so the worker rejects it and its reservation is released.
    assert alice.withdraw(account["id"], "8000").status_code == 202
    key = new_key()
    refused = alice.withdraw(account["id"], "5000", key=key)
    assert_error(refused, 422, "daily_limit_exceeded")
    apply_pending()

    retried = alice.withdraw(account["id"], "5000", key=key)

    assert retried.status_code == 202, retried.content
    assert retried.json()["amount"] == "5000"


def test_a_request_refused_as_invalid_may_be_retried_with_the_same_key(alice) -> None:
    account = alice.open_account("KRW")
    key = new_key()
    assert_error(alice.deposit(account["id"], "50.5", key=key), 400, "validation_error", fields={"amount"})

    retried = alice.deposit(account["id"], "50", key=key)

    assert retried.status_code == 202, retried.content


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("ключ", id="non-ascii"),
        pytest.param("café", id="latin-1"),
        pytest.param("a\x07b", id="control-character"),
        pytest.param("a\tb", id="tab"),
        pytest.param("a\x7fb", id="delete-character"),
    ],
)
def test_an_invalid_key_is_refused(alice, key: str) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    response = alice.deposit(account["id"], "1000", key=key)

    assert_error(response, 400, "validation_error", fields={"Idempotency-Key"})
    assert bank_state() == before


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 255, id="255-characters"),
        pytest.param("x", id="one-character"),
        pytest.param(" !~{}[]:;'\"", id="printable-punctuation-and-space"),
    ],
)
def test_a_key_of_1_to_255_printable_ascii_characters_is_accepted(alice, key: str) -> None:
    account = alice.open_account("KRW")

    response = alice.deposit(account["id"], "1000", key=key)

    assert response.status_code == 202, response.content


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_key_is_still_being_accepted_gets_409(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    # Creates today's limit row, which the blocker below holds so the keyed withdrawal waits on it.
    assert alice.withdraw(account["id"], "1000").status_code == 202
    key = new_key()
    first: dict = {}
    first_caller = customer(sub=alice.sub)

    def accept_first() -> None:
        try:
            first["response"] = first_caller.withdraw(account["id"], "2000", key=key)
        finally:
            connection.close()

    with transaction.atomic():
        LimitUsage.objects.select_for_update().get(account_id=account["id"])
        thread = threading.Thread(target=accept_first)
        thread.start()
        _wait_until_a_query_waits_for_our_lock()

        second = alice.withdraw(account["id"], "2000", key=key)
    thread.join(timeout=30)

    assert_error(second, 409, "idempotency_in_progress")
    assert first["response"].status_code == 202, first["response"].content
    replay = alice.withdraw(account["id"], "2000", key=key)
    assert replay.json()["event_id"] == first["response"].json()["event_id"]
    assert Event.objects.filter(account_id=account["id"]).count() == 2


def _wait_until_a_query_waits_for_our_lock(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the first request never reached the held lock")


@pytest.mark.parametrize(
    ("first", "again"),
    [
        pytest.param("order-42", '"order-42"', id="bare-then-structured"),
        pytest.param('"order-42"', "order-42", id="structured-then-bare"),
        pytest.param('"say \\"hi\\" \\\\ bye"', 'say "hi" \\ bye', id="escaped-quote-and-backslash"),
    ],
)
def test_a_key_as_a_structured_field_string_is_the_same_key_as_bare(alice, first: str, again: str) -> None:
    account = alice.open_account("KRW")  # alice is new: no key of hers exists yet
    first_response = alice.deposit(account["id"], "5000", key=first)

    again_response = alice.deposit(account["id"], "5000", key=again)

    assert first_response.status_code == again_response.status_code == 202
    assert again_response.json()["event_id"] == first_response.json()["event_id"]
    assert len(events_of(account["id"])) == 1


def test_a_quoted_key_stores_the_key_without_its_quotes(alice) -> None:
    account = alice.open_account("KRW")
    key = new_key()

    assert alice.deposit(account["id"], "5000", key=f'"{key}"').status_code == 202

    assert IdempotencyRecord.objects.filter(key=key).exists()


def test_an_empty_structured_field_string_is_an_invalid_key(alice) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    response = alice.deposit(account["id"], "1000", key='""')

    assert_error(response, 400, "validation_error", fields={"Idempotency-Key"})
    assert bank_state() == before
