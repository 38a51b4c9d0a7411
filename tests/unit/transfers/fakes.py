"""In-memory fakes of the core's ports, for testing the use cases without servers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from contextlib import nullcontext

from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, Account, AccountStatus, IdempotencyKey, LimitUsage
from transfers.domain.money import Currency


class FakeClock:
    def __init__(self, moment: dt.datetime = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def business_date(self, moment: dt.datetime) -> dt.date:
        return moment.date()


class FakeLimitCache:
    def __init__(self) -> None:
        self.entries: dict = {}

    def get(self, key):
        return self.entries.get(key)

    def put(self, usages) -> None:
        self.entries.update(usages)

    def forget(self, keys) -> None:
        for key in keys:
            self.entries.pop(key, None)


class FakeAcceptanceStore:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Account] = {}
        self.usage: dict = {}
        self.events: list[AcceptedEvent] = []
        self.keys: dict[tuple, tuple[str, uuid.UUID]] = {}

    def atomic(self):
        return nullcontext()

    def accounts(self, *account_ids):
        return {i: self.rows[i] for i in account_ids if i in self.rows}

    def open_account(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account:
        account = Account(uuid.uuid4(), owner_id, currency, 0, daily_limit, AccountStatus.ACTIVE)
        self.rows[account.id] = account
        return account

    def close_account(self, account_id):
        account = self.rows[account_id]
        if account.balance != 0 or any(e.movement.account_id == account_id for e in self.events):
            raise errors.AccountNotEmpty()
        self.rows[account_id] = dataclasses.replace(account, status=AccountStatus.CLOSED)
        return self.rows[account_id]

    def limit_usage(self, key) -> LimitUsage:
        return self.usage.get(key, LimitUsage())

    def claim_idempotency_key(self, key: IdempotencyKey):
        return self.keys.get((key.user_id, key.scope, key.key))

    def remember_idempotency_key(self, key: IdempotencyKey, *, fingerprint: str, event_id: uuid.UUID):
        self.keys[(key.user_id, key.scope, key.key)] = (fingerprint, event_id)

    def add_event(self, event: AcceptedEvent, *, reserve_within: int | None) -> None:
        movement = event.movement
        if any(self.rows[i].is_closed for i in (movement.account_id, movement.counterparty_id) if i):
            raise errors.AccountClosed()
        if reserve_within is not None:
            key = (movement.account_id, event.business_date)
            usage = self.limit_usage(key)
            if not usage.admits(event.amount, reserve_within):
                raise errors.DailyLimitExceeded()
            self.usage[key] = LimitUsage(usage.used, usage.pending + event.amount)
        self.events.append(event)
