"""The API process's memory of accounts it has read: all or nothing, bounded, and forgetful on demand."""

from __future__ import annotations

import uuid

from transfers.adapters.acceptance_store import KnownAccounts
from transfers.domain.model import Account, AccountStatus
from transfers.domain.money import Currency


def _account() -> Account:
    return Account(uuid.uuid4(), 1, Currency.KRW, 0, 1000, AccountStatus.ACTIVE)


def test_it_answers_only_when_it_knows_every_account_asked_for() -> None:
    known, stranger = _account(), _account()
    accounts = KnownAccounts()
    accounts.add([known])

    assert accounts.get((known.id,)) == {known.id: known}
    assert accounts.get((known.id, stranger.id)) is None


def test_past_its_capacity_the_oldest_accounts_go_first() -> None:
    first, second, third = _account(), _account(), _account()
    accounts = KnownAccounts(capacity=2)

    accounts.add([first, second])
    accounts.add([third])

    assert accounts.get((first.id,)) is None
    assert accounts.get((second.id, third.id)) == {second.id: second, third.id: third}


def test_a_forgotten_account_is_unknown() -> None:
    account = _account()
    accounts = KnownAccounts()
    accounts.add([account])

    accounts.forget(account.id, None)

    assert accounts.get((account.id,)) is None
