"""The happy path through HTTP: accounts, deposit, transfer, withdrawal; balances, entries, events."""

from __future__ import annotations

from tests.support.api import wait_until_final


def test_deposit_transfer_and_withdrawal_move_money_and_write_the_journal(new_user):
    alice, bob = new_user(), new_user()
    source = alice.open_account("USD")
    target = bob.open_account("USD")

    deposit = alice.deposit(source["id"], "100.00")
    transfer = alice.transfer(source["id"], target["id"], "30.5", memo="rent")
    withdrawal = alice.withdraw(source["id"], "19.50")
    events = wait_until_final([r.json()["event_id"] for r in (deposit, transfer, withdrawal)])

    assert [r.status_code for r in (deposit, transfer, withdrawal)] == [202, 202, 202]
    assert deposit.headers["Location"] == f"/api/v1/events/{deposit.json()['event_id']}"
    assert {e.status for e in events.values()} == {"completed"}
    assert alice.account(source["id"])["balance"] == "50.00"
    assert bob.account(target["id"])["balance"] == "30.50"
    entries = alice.get(f"/api/v1/accounts/{source['id']}/entries").json()["results"]
    assert [(e["type"], e["amount"], e["balance_after"]) for e in entries] == [
        ("withdrawal", "-19.50", "50.00"),
        ("transfer_out", "-30.50", "69.50"),
        ("deposit", "100.00", "100.00"),
    ]
    assert entries[1]["counterparty"] == target["id"]
    received = bob.get(f"/api/v1/accounts/{target['id']}/entries").json()["results"]
    assert [(e["type"], e["amount"], e["counterparty"]) for e in received] == [
        ("transfer_in", "30.50", source["id"])
    ]
    event = alice.get(f"/api/v1/events/{transfer.json()['event_id']}").json()
    assert event["status"] == "completed"
    assert event["from_account"] == source["id"]
    assert event["to_account"] == target["id"]
    assert event["amount"] == "30.50"
