"""The worker side's PostgreSQL state: a transaction per batch, a savepoint per event, ordered locks."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account as AccountRow
from ledger.models import Entry
from transfers.adapters.acceptance_store import account_from_row
from transfers.domain.model import (
    Account,
    EventStatus,
    EventType,
    LimitUsage,
    Outcome,
    PendingEvent,
)
from transfers.domain.money import Currency
from transfers.models import Event
from transfers.models import LimitUsage as LimitUsageRow
from transfers.ports import LimitKey

_EVENTS = Event._meta.db_table
_ACCOUNTS = AccountRow._meta.db_table
_USAGE = LimitUsageRow._meta.db_table
_ENTRIES = Entry._meta.db_table


class DjangoLedgerStore:
    """Applies events; the lock order is always events (by seq), accounts (by id), usage rows."""

    @contextmanager
    def batch(self, event_ids: Sequence[uuid.UUID]) -> Iterator[_Batch]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT event_id, seq, account_id FROM {_EVENTS} WHERE event_id = ANY(%s)",
                [list(event_ids)],
            )
            known = cursor.fetchall()
            unknown = set(event_ids) - {row[0] for row in known}
            # Earlier pending events of the same senders come along, so an account's events are
            # applied in acceptance order even if the broker delivers a retried message late.
            cursor.execute(
                f"SELECT event_id, type, account_id, counterparty_id, amount, business_date"
                f" FROM {_EVENTS} WHERE status = 'pending' AND (event_id = ANY(%s)"
                f" OR (account_id = ANY(%s) AND seq < %s)) ORDER BY seq FOR UPDATE",
                [list(event_ids), list({row[2] for row in known}), max((row[1] for row in known), default=0)],
            )
            events = [
                PendingEvent(
                    id=row[0],
                    type=EventType(row[1]),
                    account_id=row[2],
                    counterparty_id=row[3],
                    amount=row[4],
                    business_date=row[5],
                )
                for row in cursor.fetchall()
            ]
            account_ids = sorted(
                {e.account_id for e in events} | {e.counterparty_id for e in events if e.counterparty_id}
            )
            cursor.execute(
                f"SELECT id, owner_id, currency, balance, daily_limit, status FROM {_ACCOUNTS}"
                f" WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [account_ids],
            )
            columns = [c.name for c in cursor.description]
            accounts = {
                row[0]: account_from_row(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()
            }
            keys = sorted({(e.account_id, e.business_date) for e in events if e.type.is_outgoing})
            usage: dict[LimitKey, LimitUsage] = {}
            if keys:
                cursor.execute(
                    f"SELECT account_id, business_date, used, pending FROM {_USAGE}"
                    f" WHERE (account_id, business_date) IN (SELECT * FROM unnest(%s::uuid[], %s::date[]))"
                    f" ORDER BY account_id, business_date FOR NO KEY UPDATE",
                    [[k[0] for k in keys], [k[1] for k in keys]],
                )
                usage = {(r[0], r[1]): LimitUsage(used=r[2], pending=r[3]) for r in cursor.fetchall()}
            yield _Batch(cursor, events, accounts, usage, self._settlement_ids(cursor), unknown)

    @staticmethod
    def _settlement_ids(cursor) -> dict[str, uuid.UUID]:
        # Read per batch rather than cached: cheap, and never stale after a restore or a test flush.
        cursor.execute(f"SELECT currency, id FROM {_ACCOUNTS} WHERE kind = 'settlement'")
        ids = dict(cursor.fetchall())
        if len(ids) < len(Currency):
            for currency in Currency:
                if currency.code not in ids:
                    ids[currency.code] = AccountRow.objects.get_or_create(
                        kind=AccountRow.Kind.SETTLEMENT,
                        currency=currency.code,
                        defaults={"daily_limit": currency.max_daily_limit},
                    )[0].id
        return ids


class _Batch:
    def __init__(self, cursor, events, accounts, usage, settlements, unknown) -> None:
        self._cursor = cursor
        self.unknown_event_ids: set[uuid.UUID] = unknown
        self._events: list[PendingEvent] = events
        self.accounts: dict[uuid.UUID, Account] = accounts
        self._usage: dict[LimitKey, LimitUsage] = usage
        self._settlements: dict[str, uuid.UUID] = settlements
        self._touched: set[LimitKey] = set()

    def pending_events(self) -> Sequence[PendingEvent]:
        return self._events

    def settlement_id(self, account_id: uuid.UUID) -> uuid.UUID:
        return self._settlements[self.accounts[account_id].currency.code]

    def used(self, key: LimitKey) -> int:
        return self._usage.get(key, LimitUsage()).used

    def savepoint(self):
        return transaction.atomic()

    def record(self, event: PendingEvent, outcome: Outcome) -> None:
        now = timezone.now()
        balances = {}
        entries = []
        for posting in outcome.postings:
            account = self.accounts.get(posting.account_id)
            balance_after = None
            if account is not None:
                balance_after = balances.get(account.id, account.balance) + posting.amount
                balances[account.id] = balance_after
            entries.append(
                (
                    event.id,
                    posting.account_id,
                    posting.entry_type.value,
                    posting.amount,
                    balance_after,
                    posting.counterparty_id,
                    now,
                )
            )
        cursor = self._cursor
        for account_id, balance in balances.items():
            cursor.execute(f"UPDATE {_ACCOUNTS} SET balance = %s WHERE id = %s", [balance, account_id])
        if entries:
            cursor.executemany(
                f"INSERT INTO {_ENTRIES} (transaction_id, account_id, type, amount, balance_after,"
                f" counterparty_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                entries,
            )
        usage = None
        if event.type.is_outgoing:
            key = (event.account_id, event.business_date)
            used = event.amount if outcome.status is EventStatus.COMPLETED else 0
            cursor.execute(
                f"UPDATE {_USAGE} SET pending = pending - %s, used = used + %s"
                f" WHERE account_id = %s AND business_date = %s RETURNING used, pending",
                [event.amount, used, key[0], key[1]],
            )
            row = cursor.fetchone()
            if row is None:
                raise LookupError(f"no limit usage row for {key}: the event was never reserved")
            usage = (key, LimitUsage(used=row[0], pending=row[1]))
        cursor.execute(
            f"UPDATE {_EVENTS} SET status = %s, reason = %s, processed_at = %s WHERE event_id = %s",
            [outcome.status.value, outcome.reason, now, event.id],
        )
        # Only now that every statement succeeded does the batch's view of the rows move on.
        for account_id, balance in balances.items():
            self.accounts[account_id] = dataclasses.replace(self.accounts[account_id], balance=balance)
        if usage is not None:
            self._usage[usage[0]] = usage[1]
            self._touched.add(usage[0])

    def touched_limits(self) -> dict[LimitKey, LimitUsage]:
        return {key: self._usage[key] for key in self._touched}
