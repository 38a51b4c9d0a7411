"""Freeze, unfreeze and reversals with four eyes, through the API; each leaves an audit record."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, transaction

from ledger.models import Entry
from ledger.reconciliation import reconcile
from tests.integration.api.support import apply_pending, assert_error, bank_state
from transfers.models import AuditRecord, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def oscar(customer):
    return customer("oscar", roles=("ops",))


def _freeze(user, account_id, reason="card reported stolen", *, undo=False):
    return user.post(f"/api/v1/accounts/{account_id}/{'unfreeze' if undo else 'freeze'}", {"reason": reason})


def test_ops_freeze_an_account_movements_are_refused_reads_go_on_and_unfreeze_restores(
    alice, bob, ops
) -> None:
    account, other = alice.funded_account("KRW", "5000"), bob.funded_account("KRW", "5000")

    frozen = _freeze(ops, account["id"])
    refused = [
        alice.withdraw(account["id"], "1"),
        alice.deposit(account["id"], "1"),
        alice.transfer(account["id"], other["id"], "1"),
        bob.transfer(other["id"], account["id"], "1"),
        alice.close(account["id"]),
    ]
    read = alice.get(f"/api/v1/accounts/{account['id']}/entries")
    active = _freeze(ops, account["id"], "cleared by the customer", undo=True)

    assert (frozen.status_code, frozen.json()["status"]) == (200, "frozen")
    for response in refused:
        assert_error(response, 422, "account_frozen")
    assert read.status_code == 200
    assert (active.status_code, active.json()["status"]) == (200, "active")
    assert alice.withdraw(account["id"], "1").status_code == 202
    records = AuditRecord.objects.filter(object_id=account["id"], action__in=["freeze", "unfreeze"]).order_by(
        "id"
    )
    assert [(r.action, r.reason, r.actor.username) for r in records] == [
        ("freeze", "card reported stolen", ops.sub),
        ("unfreeze", "cleared by the customer", ops.sub),
    ]


def test_a_pending_movement_of_an_account_frozen_meanwhile_is_rejected_by_the_worker(alice, ops) -> None:
    account = alice.funded_account("KRW", "5000")
    assert alice.withdraw(account["id"], "1000").status_code == 202

    _freeze(ops, account["id"])
    apply_pending()

    event = Event.objects.get(account_id=account["id"], type="withdrawal")
    assert (event.status, event.reason) == ("rejected", "account_frozen")
    assert alice.account(account["id"])["pending_today"] == "0"


def test_only_ops_freeze_with_a_reason(alice, bob, ops) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    assert_error(_freeze(alice, account["id"]), 403, "forbidden")
    assert_error(_freeze(bob, account["id"]), 404, "not_found")
    assert_error(
        ops.post(f"/api/v1/accounts/{account['id']}/freeze", {}), 400, "validation_error", fields={"reason"}
    )
    assert_error(_freeze(ops, uuid.uuid4()), 404, "not_found")

    assert bank_state() == before
    assert not AuditRecord.objects.filter(action="freeze").exists()


def _reverse(user, event_id, reason="sent to the wrong person"):
    return user.post(f"/api/v1/events/{event_id}/reversal", {"reason": reason})


def test_a_transfer_is_reversed_after_a_second_ops_person_approves(alice, bob, ops, oscar) -> None:
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    transfer = alice.transfer(source["id"], target["id"], "3000").json()
    apply_pending()

    requested = _reverse(ops, transfer["event_id"])
    request_id = requested.json()["id"]
    own = ops.post(f"/api/v1/reversals/{request_id}/approve", {"reason": "ok"})
    approved = oscar.post(f"/api/v1/reversals/{request_id}/approve", {"reason": "checked the memo"})
    apply_pending()
    reversal = oscar.get(f"/api/v1/events/{approved.json()['event_id']}").json()

    assert requested.status_code == 201
    assert {k: requested.json()[k] for k in ("event_id", "status", "requested_by", "reason")} == {
        "event_id": transfer["event_id"],
        "status": "awaiting_approval",
        "requested_by": ops.sub,
        "reason": "sent to the wrong person",
    }
    assert_error(own, 403, "forbidden")
    assert approved.status_code == 202
    assert approved["Location"] == f"/api/v1/events/{reversal['event_id']}"
    assert {
        k: reversal[k] for k in ("type", "status", "amount", "from_account", "to_account", "reverses")
    } == {
        "type": "reversal",
        "status": "completed",
        "amount": "3000",
        "from_account": target["id"],
        "to_account": source["id"],
        "reverses": transfer["event_id"],
    }
    assert (alice.account(source["id"])["balance"], bob.account(target["id"])["balance"]) == ("5000", "0")
    assert alice.account(source["id"])["used_today"] == "3000"  # a reversal gives no limit back
    entries = alice.get(f"/api/v1/accounts/{source['id']}/entries").json()["results"]
    assert (entries[0]["type"], entries[0]["amount"], entries[0]["counterparty"]) == (
        "reversal",
        "3000",
        target["id"],
    )
    assert [r.action for r in AuditRecord.objects.filter(action__startswith="reversal").order_by("id")] == [
        "reversal_requested",
        "reversal_approved",
    ]
    assert reconcile() == []


@pytest.mark.parametrize(("kind", "balance_after"), [("deposit", "0"), ("withdrawal", "5000")])
def test_deposits_and_withdrawals_reverse_against_settlement_and_reconcile(
    alice, ops, oscar, kind, balance_after
):
    account = alice.funded_account("KRW", "5000")
    if kind == "withdrawal":
        assert alice.withdraw(account["id"], "5000").status_code == 202
        apply_pending()
    original = Event.objects.filter(account_id=account["id"], type=kind).get()
    request_id = _reverse(ops, original.event_id).json()["id"]

    assert oscar.post(f"/api/v1/reversals/{request_id}/approve", {}).status_code == 202
    apply_pending()

    assert alice.account(account["id"])["balance"] == balance_after
    assert reconcile() == []
    assert_error(_reverse(ops, original.event_id), 422, "not_reversible")


def test_a_reversal_the_debited_account_cannot_cover_is_rejected_and_may_be_requested_again(
    alice, bob, ops, oscar
):
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    transfer = alice.transfer(source["id"], target["id"], "3000").json()
    apply_pending()
    assert bob.withdraw(target["id"], "2000").status_code == 202
    apply_pending()

    first = _reverse(ops, transfer["event_id"]).json()["id"]
    reversal = oscar.post(f"/api/v1/reversals/{first}/approve", {}).json()
    apply_pending()
    again = _reverse(ops, transfer["event_id"])

    assert ops.get(f"/api/v1/events/{reversal['event_id']}").json()["reason"] == "insufficient_funds"
    assert again.status_code == 201
    assert reconcile() == []


def test_reversals_are_refused_where_the_contract_refuses_them(alice, bob, ops, oscar) -> None:
    account = alice.funded_account("KRW", "5000")
    deposit = Event.objects.get(account_id=account["id"], type="deposit")
    rejected = alice.withdraw(account["id"], "9000").json()
    apply_pending()

    assert_error(_reverse(ops, rejected["event_id"]), 422, "not_reversible")
    assert_error(_reverse(alice, deposit.event_id), 403, "forbidden")
    assert_error(_reverse(bob, deposit.event_id), 404, "not_found")
    assert_error(_reverse(ops, deposit.event_id, ""), 400, "validation_error", fields={"reason"})
    request_id = _reverse(ops, deposit.event_id).json()["id"]
    assert_error(_reverse(oscar, deposit.event_id), 422, "not_reversible")
    assert_error(alice.post(f"/api/v1/reversals/{request_id}/approve", {}), 404, "not_found")
    assert_error(oscar.post(f"/api/v1/reversals/{request_id}/decline", {}), 400, "validation_error")
    declined = oscar.post(f"/api/v1/reversals/{request_id}/decline", {"reason": "the deposit was real"})
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    assert_error(oscar.post(f"/api/v1/reversals/{request_id}/approve", {}), 422, "not_reversible")
    listed = ops.get("/api/v1/reversals", status="declined").json()
    assert [r["id"] for r in listed["results"]] == [request_id]
    assert_error(alice.get("/api/v1/reversals"), 403, "forbidden")


def test_ops_reads_of_someone_elses_account_are_audited_and_the_record_is_append_only(alice, ops) -> None:
    account = alice.open_account("KRW")
    alice.get(f"/api/v1/accounts/{account['id']}")  # the owner's own read is not recorded

    ops.get(f"/api/v1/accounts/{account['id']}")
    ops.get(f"/api/v1/accounts/{account['id']}/entries")
    record = AuditRecord.objects.filter(object_id=account["id"]).order_by("id")

    assert [(r.action, r.actor.username) for r in record] == [("read_account", ops.sub)] * 2
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(object_id=account["id"]).update(reason="edited")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(object_id=account["id"]).delete()
    assert Entry.objects.filter(account_id=account["id"]).count() == 0


def test_an_ops_read_of_someone_elses_event_is_audited_and_a_customer_still_gets_404(alice, bob, ops) -> None:
    account = alice.open_account("KRW")
    event_id = alice.deposit(account["id"], "1000").json()["event_id"]

    own = alice.get(f"/api/v1/events/{event_id}")
    theirs = bob.get(f"/api/v1/events/{event_id}")
    by_ops = ops.get(f"/api/v1/events/{event_id}")

    assert (own.status_code, by_ops.status_code) == (200, 200)
    assert_error(theirs, 404, "not_found")
    records = AuditRecord.objects.filter(object_id=event_id)
    assert [(r.action, r.actor.username) for r in records] == [("read_event", ops.sub)]
