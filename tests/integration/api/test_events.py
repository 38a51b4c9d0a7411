"""Events and entries as the API shows them: Location, newest first, status filter, pagination."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.integration.api.support import assert_error
from transfers.models import ParkedAccount

pytestmark = pytest.mark.django_db

EVENT_FIELDS = {"event_id", "type", "status", "reason", "amount", "created_at", "processed_at"}


def test_an_accepted_movement_answers_202_with_the_event_and_its_location(alice) -> None:
    account = alice.open_account("KRW")

    response = alice.deposit(account["id"], "5000", reference="salary")

    assert response.status_code == 202, response.content
    event = response.json()
    assert EVENT_FIELDS | {"account"} <= set(event)
    assert uuid.UUID(event["event_id"])
    assert (event["type"], event["status"], event["reason"]) == ("deposit", "pending", None)
    assert (event["account"], event["amount"]) == (account["id"], "5000")
    assert dt.datetime.fromisoformat(event["created_at"]).utcoffset() is not None
    assert event["processed_at"] is None
    assert response.headers["Location"] == f"/api/v1/events/{event['event_id']}"
    assert alice.get(response.headers["Location"]).json() == event


def test_an_applied_event_shows_its_outcome_and_when_it_was_processed(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    completed = alice.deposit(account["id"], "5000").json()
    rejected = alice.withdraw(account["id"], "9000").json()

    apply_pending()

    completed = alice.get(f"/api/v1/events/{completed['event_id']}").json()
    rejected = alice.get(f"/api/v1/events/{rejected['event_id']}").json()
    assert (completed["status"], completed["reason"]) == ("completed", None)
    assert (rejected["status"], rejected["reason"]) == ("rejected", "insufficient_funds")
    for event in (completed, rejected):
        assert dt.datetime.fromisoformat(event["processed_at"]).utcoffset() is not None


def test_a_transfer_event_names_both_accounts(alice, bob) -> None:
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")

    event = alice.transfer(source["id"], target["id"], "1000").json()

    assert EVENT_FIELDS | {"from_account", "to_account"} <= set(event)
    assert "account" not in event
    assert (event["from_account"], event["to_account"]) == (source["id"], target["id"])


def test_account_events_are_listed_newest_first(alice, bob) -> None:
    account = alice.open_account("KRW")
    other = bob.funded_account("KRW", "5000")
    deposit = alice.deposit(account["id"], "3000").json()
    incoming = bob.transfer(other["id"], account["id"], "1000").json()
    withdrawal = alice.withdraw(account["id"], "500").json()

    page = alice.get(f"/api/v1/accounts/{account['id']}/events").json()

    assert [e["event_id"] for e in page["results"]] == [
        withdrawal["event_id"],
        incoming["event_id"],
        deposit["event_id"],
    ]


def test_account_events_are_filtered_by_status(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    completed = alice.deposit(account["id"], "3000").json()
    rejected = alice.withdraw(account["id"], "9000").json()
    apply_pending()
    pending = alice.withdraw(account["id"], "1000").json()

    by_status = {
        status: [
            e["event_id"]
            for e in alice.get(f"/api/v1/accounts/{account['id']}/events", status=status).json()["results"]
        ]
        for status in ("pending", "completed", "rejected")
    }

    assert by_status == {
        "pending": [pending["event_id"]],
        "completed": [completed["event_id"]],
        "rejected": [rejected["event_id"]],
    }


@pytest.mark.parametrize("status", ["done", "PENDING", "", "pending,completed"])
def test_an_unknown_status_filter_is_refused(alice, status: str) -> None:
    account = alice.open_account("KRW")

    response = alice.get(f"/api/v1/accounts/{account['id']}/events", status=status)

    assert_error(response, 400, "validation_error", fields={"status"})


def test_account_events_are_paginated_50_by_default_and_at_most_200(alice) -> None:
    account = alice.open_account("KRW")
    for _ in range(201):
        assert alice.deposit(account["id"], "1").status_code == 202
    path = f"/api/v1/accounts/{account['id']}/events"

    default = alice.get(path).json()
    capped = alice.get(path, page_size=1000).json()
    last = alice.get(path, page_size=200, page=2).json()

    assert set(default) == {"count", "next", "previous", "results"}
    assert (default["count"], len(default["results"]), default["previous"]) == (201, 50, None)
    assert default["next"] is not None
    assert (capped["count"], len(capped["results"])) == (201, 200)
    assert (len(last["results"]), last["next"]) == (1, None)
    assert last["previous"] is not None


def test_account_events_pages_link_to_each_other(alice) -> None:
    account = alice.open_account("KRW")
    accepted = [alice.deposit(account["id"], str(n)).json()["event_id"] for n in range(1, 6)]

    first = alice.get(f"/api/v1/accounts/{account['id']}/events", page_size=2).json()
    second = alice.client.get(first["next"]).json()
    third = alice.client.get(second["next"]).json()
    back = alice.client.get(third["previous"]).json()

    seen = [e["event_id"] for page in (first, second, third) for e in page["results"]]
    assert seen == accepted[::-1]
    assert first["previous"] is None
    assert third["next"] is None
    assert back == second


def test_a_page_past_the_end_is_not_found(alice) -> None:
    account = alice.open_account("KRW")

    response = alice.get(f"/api/v1/accounts/{account['id']}/events", page=2)

    assert_error(response, 404, "not_found")


def test_entries_are_listed_newest_first_with_signed_amounts_and_running_balances(
    alice, bob, apply_pending
) -> None:
    account = alice.open_account("USD")
    other = bob.open_account("USD")
    deposit = alice.deposit(account["id"], "100").json()
    withdrawal = alice.withdraw(account["id"], "20.5").json()
    transfer = alice.transfer(account["id"], other["id"], "9.99").json()
    apply_pending()

    page = alice.get(f"/api/v1/accounts/{account['id']}/entries").json()

    assert page["count"] == 3
    assert [
        (e["event_id"], e["type"], e["amount"], e["balance_after"], e["counterparty"])
        for e in page["results"]
    ] == [
        (transfer["event_id"], "transfer_out", "-9.99", "69.51", other["id"]),
        (withdrawal["event_id"], "withdrawal", "-20.50", "79.50", None),
        (deposit["event_id"], "deposit", "100.00", "100.00", None),
    ]
    assert all(dt.datetime.fromisoformat(e["created_at"]).utcoffset() is not None for e in page["results"])


def test_an_event_the_worker_rejected_writes_no_entry(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    alice.withdraw(account["id"], "1000")

    apply_pending()

    assert alice.get(f"/api/v1/accounts/{account['id']}/entries").json()["count"] == 0


@pytest.mark.parametrize("movement", ["deposit", "withdrawal", "transfer"])
def test_accepting_on_accounts_this_process_has_seen_is_one_statement(alice, bob, movement: str) -> None:
    account, other = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    send = {
        "deposit": lambda: alice.deposit(account["id"], "100"),
        "withdrawal": lambda: alice.withdraw(account["id"], "100"),
        "transfer": lambda: alice.transfer(account["id"], other["id"], "100"),
    }[movement]
    assert send().status_code == 202  # reads the accounts (and the day's limit usage) once

    with CaptureQueriesContext(connection) as statements:
        assert send().status_code == 202

    # Admission control's read of the backlog, at most once a second per process, aside.
    assert len([s for s in statements if ParkedAccount._meta.db_table not in s["sql"]]) == 1


def _follow(customer, first_url: str, link: str) -> list[dict]:
    pages, url = [], first_url
    while url:
        page = customer.client.get(url).json()
        pages.append(page)
        url = page[link]
    return pages


def test_account_events_by_cursor_walk_the_whole_history_newest_first_and_back(alice, bob) -> None:
    account = alice.open_account("KRW")
    other = bob.funded_account("KRW", "5000")
    accepted = []
    for n in range(1, 8):
        if n % 3 == 0:
            accepted.append(bob.transfer(other["id"], account["id"], str(n)).json()["event_id"])
        else:
            accepted.append(alice.deposit(account["id"], str(n)).json()["event_id"])
    path = f"/api/v1/accounts/{account['id']}/events?cursor=&page_size=3"

    forward = _follow(alice, path, "next")
    back_from_last = _follow(alice, forward[-1]["previous"], "previous")

    assert all(set(page) == {"next", "previous", "results"} for page in forward)
    assert [len(page["results"]) for page in forward] == [3, 3, 1]
    assert [e["event_id"] for page in forward for e in page["results"]] == accepted[::-1]
    assert forward[0]["previous"] is None
    assert back_from_last == forward[-2::-1]


def test_account_events_by_cursor_keep_the_status_filter(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    completed = [alice.deposit(account["id"], "100").json()["event_id"] for _ in range(3)]
    apply_pending()
    alice.deposit(account["id"], "100")

    pages = _follow(
        alice, f"/api/v1/accounts/{account['id']}/events?cursor=&page_size=2&status=completed", "next"
    )

    assert [e["event_id"] for page in pages for e in page["results"]] == completed[::-1]


def test_entries_by_cursor_walk_the_whole_journal_newest_first(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    for n in range(1, 6):
        alice.deposit(account["id"], str(n))
    apply_pending()

    pages = _follow(alice, f"/api/v1/accounts/{account['id']}/entries?cursor=&page_size=2", "next")
    back = _follow(alice, pages[-1]["previous"], "previous")

    assert [e["amount"] for page in pages for e in page["results"]] == ["5", "4", "3", "2", "1"]
    assert all("count" not in page for page in pages)
    assert back == pages[-2::-1]


def test_a_cursor_page_is_one_bounded_query_however_deep(alice, apply_pending) -> None:
    account = alice.open_account("KRW")
    for n in range(1, 6):
        alice.deposit(account["id"], str(n))
    apply_pending()
    second = alice.get(f"/api/v1/accounts/{account['id']}/entries", cursor="", page_size=2).json()["next"]

    with CaptureQueriesContext(connection) as queries:
        assert alice.client.get(second).status_code == 200

    journal = [q["sql"] for q in queries.captured_queries if "ledger_entry" in q["sql"]]
    assert len(journal) == 1
    assert "COUNT(" not in journal[0].upper()
    assert "OFFSET" not in journal[0].upper()
    assert "LIMIT 3" in journal[0].upper()


@pytest.mark.parametrize("cursor", ["not-a-cursor", "ZDE=x", "eDEy", "!!"])
def test_a_cursor_the_api_did_not_give_out_is_refused(alice, cursor: str) -> None:
    account = alice.open_account("KRW")

    response = alice.get(f"/api/v1/accounts/{account['id']}/events", cursor=cursor)

    assert_error(response, 400, "validation_error", fields={"cursor"})


def test_a_page_number_with_a_cursor_is_refused_not_ignored(alice) -> None:
    account = alice.open_account("KRW")

    response = alice.get(f"/api/v1/accounts/{account['id']}/events?cursor=&page=2")

    assert_error(response, 400, "validation_error", fields={"page"})
