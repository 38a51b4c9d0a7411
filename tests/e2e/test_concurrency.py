"""Concurrent and back-to-back requests on one account: balance, daily limit and order all hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ledger.reconciliation import reconcile
from tests.support.api import wait_until_final


def _concurrently(count: int, request):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: request(), range(count)))


def test_forty_concurrent_withdrawals_against_a_balance_for_ten_complete_exactly_ten(new_user):
    alice = new_user()
    account = alice.open_account("KRW")
    wait_until_final([alice.deposit(account["id"], "100000").json()["event_id"]])

    responses = _concurrently(40, lambda: alice.withdraw(account["id"], "10000"))
    events = wait_until_final([r.json()["event_id"] for r in responses])

    assert [r.status_code for r in responses] == [202] * 40
    outcomes = sorted((e.status, e.reason or "") for e in events.values())
    assert outcomes == [("completed", "")] * 10 + [("rejected", "insufficient_funds")] * 30
    assert alice.account(account["id"])["balance"] == "0"
    assert reconcile() == []


def test_concurrent_withdrawals_never_pass_the_daily_limit(new_user):
    alice = new_user()
    account = alice.open_account("KRW")
    wait_until_final([alice.deposit(account["id"], "9000000").json()["event_id"]])

    responses = _concurrently(20, lambda: alice.withdraw(account["id"], "1000000"))
    accepted = [r.json()["event_id"] for r in responses if r.status_code == 202]
    events = wait_until_final(accepted)

    refused = [r for r in responses if r.status_code != 202]
    assert len(accepted) == 5
    assert {(r.status_code, r.json()["error"]["code"]) for r in refused} == {(422, "daily_limit_exceeded")}
    assert {e.status for e in events.values()} == {"completed"}
    view = alice.account(account["id"])
    assert (view["used_today"], view["pending_today"], view["remaining_today"]) == ("5000000", "0", "0")
    assert view["balance"] == "4000000"
    assert reconcile() == []


def test_transfers_count_toward_the_daily_limit(new_user):
    alice, bob = new_user(), new_user()
    source = alice.open_account("USD", daily_limit="100.00")
    target = bob.open_account("USD")
    wait_until_final([alice.deposit(source["id"], "500.00").json()["event_id"]])

    sent = alice.transfer(source["id"], target["id"], "80.00")
    over = alice.transfer(source["id"], target["id"], "20.01")
    withdrawal_over = alice.withdraw(source["id"], "20.01")
    last = alice.withdraw(source["id"], "20.00")
    wait_until_final([sent.json()["event_id"], last.json()["event_id"]])

    assert (sent.status_code, last.status_code) == (202, 202)
    assert over.status_code == withdrawal_over.status_code == 422
    assert over.json()["error"]["code"] == "daily_limit_exceeded"
    view = alice.account(source["id"])
    assert (view["used_today"], view["remaining_today"], view["balance"]) == ("100.00", "0.00", "400.00")


def test_a_deposit_followed_at_once_by_an_equal_withdrawal_always_completes_both(new_user):
    alice = new_user()
    account = alice.open_account("EUR")

    event_ids = []
    for _ in range(25):
        event_ids.append(alice.deposit(account["id"], "7.25").json()["event_id"])
        event_ids.append(alice.withdraw(account["id"], "7.25").json()["event_id"])
    events = wait_until_final(event_ids)

    assert [events[i].status for i in event_ids] == ["completed"] * 50
    assert alice.account(account["id"])["balance"] == "0.00"
