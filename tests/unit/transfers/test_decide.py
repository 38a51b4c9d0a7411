"""How the worker decides an event against the locked state of its accounts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from transfers.domain.model import Account, AccountStatus, EventType, LimitUsage, PendingEvent, decide
from transfers.domain.money import Currency

SETTLEMENT = uuid.uuid4()
DAY = dt.date(2026, 11, 24)


def _account(balance: int = 0, *, closed: bool = False, daily_limit: int = 1_000_000) -> Account:
    status = AccountStatus.CLOSED if closed else AccountStatus.ACTIVE
    return Account(uuid.uuid4(), 1, Currency.KRW, balance, daily_limit, status)


def _event(kind: EventType, source: Account, amount: int, target: Account | None = None) -> PendingEvent:
    return PendingEvent(uuid.uuid4(), kind, source.id, target.id if target else None, amount, DAY)


def _decide(event: PendingEvent, *accounts: Account, used: int = 0):
    usage = LimitUsage(used=used, pending=event.amount if event.type.is_outgoing else 0)
    return decide(event, accounts={a.id: a for a in accounts}, usage=usage, settlement_id=SETTLEMENT)


def test_a_deposit_credits_the_account_against_settlement():
    account = _account()

    outcome = _decide(_event(EventType.DEPOSIT, account, 500), account)

    assert outcome.status == "completed"
    assert [(p.account_id, p.amount, p.entry_type) for p in outcome.postings] == [
        (account.id, 500, "deposit"),
        (SETTLEMENT, -500, "settlement"),
    ]


def test_a_transfer_debits_the_sender_and_credits_the_receiver_naming_each_other():
    sender, receiver = _account(1000), _account()

    outcome = _decide(_event(EventType.TRANSFER, sender, 300, receiver), sender, receiver)

    assert [(p.account_id, p.amount, p.entry_type, p.counterparty_id) for p in outcome.postings] == [
        (sender.id, -300, "transfer_out", receiver.id),
        (receiver.id, 300, "transfer_in", sender.id),
    ]
    assert sum(p.amount for p in outcome.postings) == 0


def test_a_withdrawal_larger_than_the_balance_is_rejected():
    account = _account(299)

    outcome = _decide(_event(EventType.WITHDRAWAL, account, 300), account)

    assert (outcome.status, outcome.reason, outcome.postings) == ("rejected", "insufficient_funds", ())


def test_a_withdrawal_past_the_days_completed_limit_is_rejected():
    account = _account(10_000, daily_limit=1000)

    outcome = _decide(_event(EventType.WITHDRAWAL, account, 300), account, used=800)

    assert outcome.reason == "daily_limit_exceeded"


@pytest.mark.parametrize("closed_side", ["sender", "receiver"])
def test_a_transfer_touching_a_closed_account_is_rejected(closed_side):
    sender = _account(1000, closed=closed_side == "sender")
    receiver = _account(closed=closed_side == "receiver")

    outcome = _decide(_event(EventType.TRANSFER, sender, 300, receiver), sender, receiver)

    assert outcome.reason == "account_closed"


def test_a_credit_that_would_pass_ten_to_the_fifteen_major_units_is_rejected():
    sender, receiver = _account(10), _account(Currency.KRW.max_amount - 5)

    outcome = _decide(_event(EventType.TRANSFER, sender, 10, receiver), sender, receiver)

    assert outcome.reason == "balance_limit_exceeded"


def test_the_outcome_carries_each_balance_after_and_the_days_usage_after():
    sender, receiver = _account(1000), _account(50)

    outcome = _decide(_event(EventType.TRANSFER, sender, 300, receiver), sender, receiver, used=100)

    assert [p.balance_after for p in outcome.postings] == [700, 350]
    assert outcome.balances == {sender.id: 700, receiver.id: 350}
    assert outcome.usage == LimitUsage(used=400, pending=0)


def test_a_rejected_outgoing_event_releases_its_reservation_without_using_the_limit():
    account = _account(10)

    outcome = _decide(_event(EventType.WITHDRAWAL, account, 300), account, used=100)

    assert outcome.usage == LimitUsage(used=100, pending=0)
    assert outcome.balances == {}


def test_a_settlement_posting_has_no_balance_after():
    account = _account(5)

    outcome = _decide(_event(EventType.DEPOSIT, account, 20), account)

    assert [p.balance_after for p in outcome.postings] == [25, None]
    assert outcome.usage is None
