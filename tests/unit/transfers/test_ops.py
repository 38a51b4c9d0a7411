"""Ops actions in the core: freezing, reversals with four eyes, and the audit they leave."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.unit.transfers.fakes import FakeAcceptanceStore, FakeClock, FakeOpsStore
from transfers import services
from transfers.domain import errors
from transfers.domain.model import (
    Account,
    AccountStatus,
    Caller,
    EventRecord,
    EventStatus,
    EventType,
    LimitUsage,
    PendingEvent,
    decide,
)
from transfers.domain.money import Currency

ALICE, BOB = Caller(1), Caller(2)
OLGA, OSCAR = Caller(10, is_ops=True, request_id="req-1"), Caller(11, is_ops=True)
DAY = dt.date(2026, 11, 24)


@pytest.fixture
def stores() -> tuple[FakeAcceptanceStore, FakeOpsStore]:
    acceptance = FakeAcceptanceStore()
    return acceptance, FakeOpsStore(acceptance)


def _freeze(ops, caller, account_id, *, frozen=True, reason="suspicious activity"):
    return services.set_account_frozen(
        caller=caller, account_id=account_id, frozen=frozen, reason=reason, store=ops
    )


def test_ops_freeze_anyone_with_a_reason_and_it_is_audited(stores) -> None:
    acceptance, ops = stores
    account = acceptance.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    frozen = _freeze(ops, OLGA, account.id)
    active = _freeze(ops, OSCAR, account.id, frozen=False, reason="cleared")

    assert (frozen.status, active.status) == (AccountStatus.FROZEN, AccountStatus.ACTIVE)
    assert [(a.actor_id, a.action, a.object_id, a.reason, a.request_id) for a in ops.audit] == [
        (10, "freeze", str(account.id), "suspicious activity", "req-1"),
        (11, "unfreeze", str(account.id), "cleared", ""),
    ]


def test_customers_may_not_freeze_their_own_403_or_others_404_and_a_reason_is_required(stores) -> None:
    acceptance, ops = stores
    account = acceptance.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)

    with pytest.raises(errors.Forbidden):
        _freeze(ops, ALICE, account.id)
    with pytest.raises(errors.NotFound):
        _freeze(ops, BOB, account.id)
    with pytest.raises(errors.ValidationFailed) as no_reason:
        _freeze(ops, OLGA, account.id, reason="  ")

    assert no_reason.value.fields == {"reason": ["This field is required: say why."]}
    assert acceptance.rows[account.id].status is AccountStatus.ACTIVE
    assert ops.audit == []


def test_a_frozen_account_cannot_be_closed(stores) -> None:
    acceptance, ops = stores
    account = acceptance.open_account(owner_id=ALICE.user_id, currency=Currency.KRW, daily_limit=1000)
    frozen = _freeze(ops, OLGA, account.id)

    with pytest.raises(errors.AccountFrozen):
        frozen.check_closable(pending=False)


def _completed(ops: FakeOpsStore, kind=EventType.TRANSFER, status=EventStatus.COMPLETED) -> EventRecord:
    event = EventRecord(uuid.uuid4(), kind, status, uuid.uuid4(), uuid.uuid4(), 500, Currency.KRW, 1)
    ops.events[event.id] = event
    return event


def test_a_reversal_needs_a_second_ops_person_and_then_moves_the_money_back(stores) -> None:
    acceptance, ops = stores
    original = _completed(ops)
    request = services.request_reversal(
        caller=OLGA, event_id=original.id, reason="sent twice", store=ops, clock=FakeClock()
    )

    with pytest.raises(errors.Forbidden):
        services.approve_reversal(
            caller=OLGA, request_id=request.id, reason="", store=ops, acceptance=acceptance, clock=FakeClock()
        )
    reversal = services.approve_reversal(
        caller=OSCAR,
        request_id=request.id,
        reason="checked",
        store=ops,
        acceptance=acceptance,
        clock=FakeClock(),
    )

    movement = reversal.movement
    assert (movement.type, movement.account_id, movement.counterparty_id, movement.reverses) == (
        EventType.REVERSAL,
        original.counterparty_id,
        original.account_id,
        original.id,
    )
    assert (reversal.amount, acceptance.events) == (500, [reversal])
    assert ops.requests[request.id].status == "approved"
    assert [a.action for a in ops.audit] == ["reversal_requested", "reversal_approved"]


def test_a_reversal_is_requested_once_only_for_completed_movements_and_only_by_ops(stores) -> None:
    _, ops = stores
    original = _completed(ops)
    rejected = _completed(ops, status=EventStatus.REJECTED)

    def request(caller, event_id):
        return services.request_reversal(
            caller=caller, event_id=event_id, reason="why", store=ops, clock=FakeClock()
        )

    request(OLGA, original.id)
    with pytest.raises(errors.NotReversible, match="awaiting approval"):
        request(OSCAR, original.id)
    with pytest.raises(errors.NotReversible, match="completed"):
        request(OLGA, rejected.id)
    with pytest.raises(errors.Forbidden):
        request(ALICE, _completed(ops).id)  # alice requested it: her own event
    with pytest.raises(errors.NotFound):
        request(BOB, original.id)


def test_a_declined_request_leaves_the_event_reversible_and_needs_a_reason(stores) -> None:
    _, ops = stores
    original = _completed(ops, kind=EventType.DEPOSIT)
    first = services.request_reversal(
        caller=OLGA, event_id=original.id, reason="why", store=ops, clock=FakeClock()
    )

    with pytest.raises(errors.ValidationFailed):
        services.decline_reversal(caller=OSCAR, request_id=first.id, reason="", store=ops, clock=FakeClock())
    declined = services.decline_reversal(
        caller=OSCAR, request_id=first.id, reason="not a duplicate", store=ops, clock=FakeClock()
    )
    with pytest.raises(errors.NotReversible, match="declined"):
        services.decline_reversal(
            caller=OSCAR, request_id=first.id, reason="again", store=ops, clock=FakeClock()
        )
    again = services.request_reversal(
        caller=OSCAR, event_id=original.id, reason="why", store=ops, clock=FakeClock()
    )

    assert (declined.status, again.status) == ("declined", "awaiting_approval")


SETTLEMENT = uuid.uuid4()


def _account(balance: int, status=AccountStatus.ACTIVE) -> Account:
    return Account(uuid.uuid4(), 1, Currency.KRW, balance, 1_000_000, status)


def _decide(kind, source, amount, target=None, settlement=None):
    accounts = {a.id: a for a in (source, target, settlement) if a is not None}
    event = PendingEvent(uuid.uuid4(), kind, source.id, target.id if target else None, amount, DAY)
    usage = LimitUsage(pending=amount if kind.is_outgoing else 0)
    return decide(event, accounts=accounts, usage=usage, settlement_id=SETTLEMENT)


def test_the_worker_rejects_movements_touching_a_frozen_account_but_applies_reversals():
    frozen, other = _account(1000, AccountStatus.FROZEN), _account(1000)

    withdrawal = _decide(EventType.WITHDRAWAL, frozen, 100)
    incoming = _decide(EventType.TRANSFER, other, 100, frozen)
    reversal = _decide(EventType.REVERSAL, frozen, 100, other)

    assert (withdrawal.status, withdrawal.reason, withdrawal.usage) == (
        "rejected",
        "account_frozen",
        LimitUsage(),
    )
    assert (incoming.status, incoming.reason) == ("rejected", "account_frozen")
    assert reversal.status == "completed"
    assert [
        (p.account_id, p.amount, p.entry_type, p.counterparty_id, p.balance_after) for p in reversal.postings
    ] == [
        (frozen.id, -100, "reversal", other.id, 900),
        (other.id, 100, "reversal", frozen.id, 1100),
    ]
    assert reversal.usage is None  # no daily limit


def test_reversing_a_deposit_and_a_withdrawal_posts_against_settlement():
    customer = _account(1000)
    settlement = Account(SETTLEMENT, None, Currency.KRW, 0, 1, AccountStatus.ACTIVE)

    of_deposit = _decide(EventType.REVERSAL, customer, 400, settlement, settlement)
    of_withdrawal = _decide(EventType.REVERSAL, settlement, 400, customer, settlement)
    too_much = _decide(EventType.REVERSAL, customer, 1001, settlement, settlement)

    assert [(p.account_id, p.amount, p.entry_type, p.counterparty_id) for p in of_deposit.postings] == [
        (customer.id, -400, "reversal", None),
        (SETTLEMENT, 400, "settlement", customer.id),
    ]
    assert [(p.account_id, p.amount, p.entry_type, p.counterparty_id) for p in of_withdrawal.postings] == [
        (SETTLEMENT, -400, "settlement", customer.id),
        (customer.id, 400, "reversal", None),
    ]
    assert (too_much.status, too_much.reason) == ("rejected", "insufficient_funds")
