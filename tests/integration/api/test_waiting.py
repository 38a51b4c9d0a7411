"""Waiting for the outcome: Prefer: wait=N, woken by the worker's NOTIFY; Retry-After, ETag and 304."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from config import bootstrap
from tests.integration.api.support import apply_pending
from transfers.adapters.event_waiter import PostgresEventWaiter
from transfers.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, scope="module")
def _no_listener_left() -> Iterator[None]:
    """The views' waiter listens on the test database: end its session before the database goes."""
    yield
    bootstrap.event_waiter().close()


def _apply_after(seconds: float) -> threading.Thread:
    """The worker, applying every pending event after a pause, from a thread of its own."""

    def run() -> None:
        from django.db import connection

        time.sleep(seconds)
        apply_pending()
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_post(customer, path: str, body: dict, wait: str):
    return customer.client.post(path, body, format="json", HTTP_PREFER=wait)


def test_a_movement_without_the_header_answers_202_with_a_polling_hint(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")

    response = alice.deposit(account["id"], "5000")

    assert response.status_code == 202
    assert int(response["Retry-After"]) >= 1
    assert "Preference-Applied" not in response


def test_a_movement_that_becomes_final_while_it_waits_answers_200_with_the_final_event(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    worker = _apply_after(0.3)

    started = time.monotonic()
    response = _wait_post(alice, f"/api/v1/accounts/{account['id']}/deposits", {"amount": "5000"}, "wait=5")
    waited = time.monotonic() - started
    worker.join()

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    assert response["Location"] == f"/api/v1/events/{response.json()['event_id']}"
    assert response["Preference-Applied"] == "wait=5"
    assert waited < 4, "woken by the worker's notification, not by the end of the wait"


def test_a_movement_still_pending_after_the_wait_answers_202_as_without_the_header(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")

    response = _wait_post(alice, f"/api/v1/accounts/{account['id']}/deposits", {"amount": "5000"}, "wait=1")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response["Preference-Applied"] == "wait=1"
    assert "Location" in response
    assert "Retry-After" in response


def test_reading_a_pending_event_with_wait_answers_once_it_is_final(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    event = alice.deposit(account["id"], "5000").json()
    worker = _apply_after(0.3)

    response = alice.client.get(f"/api/v1/events/{event['event_id']}", HTTP_PREFER="respond-async, wait=3")
    worker.join()

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response["Preference-Applied"] == "wait=3"


def test_a_wait_longer_than_10_seconds_counts_as_10(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    event = alice.deposit(account["id"], "5000").json()
    apply_pending()

    response = alice.client.get(f"/api/v1/events/{event['event_id']}", HTTP_PREFER="wait=600")

    assert response.status_code == 200
    assert response["Preference-Applied"] == "wait=10"


def test_an_event_answers_304_while_its_etag_matches_and_200_once_it_changed(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    path = f"/api/v1/events/{alice.deposit(account['id'], '5000').json()['event_id']}"
    pending = alice.client.get(path)

    unchanged = alice.client.get(path, HTTP_IF_NONE_MATCH=pending["ETag"])
    apply_pending()
    changed = alice.client.get(path, HTTP_IF_NONE_MATCH=pending["ETag"])

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == pending["ETag"]
    assert changed.status_code == 200
    assert changed.json()["status"] == "completed"
    assert changed["ETag"] != pending["ETag"]


def test_past_the_bound_of_waiters_a_request_does_not_wait(customer) -> None:
    alice = customer("alice")
    account = alice.open_account("KRW")
    event_id = uuid.UUID(alice.deposit(account["id"], "5000").json()["event_id"])
    waiter = PostgresEventWaiter(max_waiters=1)
    read = lambda: Event.objects.get(event_id=event_id)  # noqa: E731
    is_final = lambda event: event.status != "pending"  # noqa: E731

    def wait_first() -> None:
        from django.db import connection

        waiter.wait(event_id, 3, read, is_final)
        connection.close()

    first = threading.Thread(target=wait_first)
    first.start()
    time.sleep(0.5)  # the first waiter holds the only slot

    started = time.monotonic()
    waited, value = waiter.wait(event_id, 3, read, is_final)
    answered_in = time.monotonic() - started
    apply_pending()
    first.join()
    waiter.close()

    assert (waited, value) == (False, None)
    assert answered_in < 1
