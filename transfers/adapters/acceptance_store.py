"""The API side's PostgreSQL state through the Django ORM: accounts, limit reservations, events, outbox."""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from contextlib import AbstractContextManager

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account as AccountRow
from messaging.models import OutboxMessage
from transfers.domain import errors
from transfers.domain.model import (
    AcceptedEvent,
    Account,
    AccountStatus,
    EventStatus,
    IdempotencyKey,
    LimitUsage,
)
from transfers.domain.money import Currency
from transfers.models import Event, IdempotencyRecord
from transfers.models import LimitUsage as LimitUsageRow
from transfers.ports import LimitKey

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
_ACCOUNT_FIELDS = ("id", "owner_id", "currency", "balance", "daily_limit", "status")

_RESERVE = f"""
INSERT INTO {LimitUsageRow._meta.db_table} (account_id, business_date, used, pending)
VALUES (%(account)s, %(day)s, 0, %(amount)s)
ON CONFLICT (account_id, business_date) DO UPDATE
    SET pending = {LimitUsageRow._meta.db_table}.pending + EXCLUDED.pending
    WHERE {LimitUsageRow._meta.db_table}.used + {LimitUsageRow._meta.db_table}.pending
          + EXCLUDED.pending <= %(limit)s
RETURNING used, pending
"""


def account_from_row(row: dict) -> Account:
    return Account(
        id=row["id"],
        owner_id=row["owner_id"],
        currency=Currency[row["currency"]],
        balance=row["balance"],
        daily_limit=row["daily_limit"],
        status=AccountStatus(row["status"]),
    )


class DjangoAcceptanceStore:
    def __init__(self, *, shards: int) -> None:
        self._shards = shards

    def atomic(self) -> AbstractContextManager[None]:
        return transaction.atomic()

    def account(self, account_id: uuid.UUID) -> Account | None:
        row = (
            AccountRow.objects.filter(id=account_id, kind=AccountRow.Kind.CUSTOMER)
            .values(*_ACCOUNT_FIELDS)
            .first()
        )
        return account_from_row(row) if row else None

    def open_account(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account:
        row = AccountRow.objects.create(owner_id=owner_id, currency=currency.code, daily_limit=daily_limit)
        return account_from_row({f: getattr(row, f) for f in _ACCOUNT_FIELDS})

    def close_account(self, account_id: uuid.UUID) -> Account:
        row = AccountRow.objects.select_for_update(no_key=True).get(id=account_id)
        pending = (
            Event.objects.filter(status=EventStatus.PENDING).filter(account_id=account_id).exists()
            or Event.objects.filter(status=EventStatus.PENDING, counterparty_id=account_id).exists()
        )
        if row.balance != 0 or pending:
            raise errors.AccountNotEmpty()
        row.status = AccountRow.Status.CLOSED
        row.closed_at = timezone.now()
        row.save(update_fields=["status", "closed_at"])
        return account_from_row({f: getattr(row, f) for f in _ACCOUNT_FIELDS})

    def limit_usage(self, key: LimitKey) -> LimitUsage:
        account_id, day = key
        row = (
            LimitUsageRow.objects.filter(account_id=account_id, business_date=day)
            .values("used", "pending")
            .first()
        )
        return LimitUsage(**row) if row else LimitUsage()

    def claim_idempotency_key(self, key: IdempotencyKey) -> tuple[str, uuid.UUID] | None:
        with connection.cursor() as cursor:
            # Two requests with one key meet on this lock: the second answers 409 at once.
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                [key.user_id % 2**31, zlib.crc32(f"{key.scope}\n{key.key}".encode()) - 2**31],
            )
            if not cursor.fetchone()[0]:
                raise errors.IdempotencyInProgress()
        return (
            IdempotencyRecord.objects.filter(
                user_id=key.user_id,
                scope=key.scope,
                key=key.key,
                created_at__gte=timezone.now() - IDEMPOTENCY_WINDOW,
            )
            .values_list("fingerprint", "event_id")
            .first()
        )

    def remember_idempotency_key(self, key: IdempotencyKey, *, fingerprint: str, event_id: uuid.UUID) -> None:
        # Replaces a record older than the window, which the unique key would otherwise refuse.
        IdempotencyRecord.objects.update_or_create(
            user_id=key.user_id,
            scope=key.scope,
            key=key.key,
            defaults={"fingerprint": fingerprint, "event_id": event_id, "created_at": timezone.now()},
        )

    def add_event(self, event: AcceptedEvent, *, reserve_within: int | None) -> LimitUsage | None:
        usage = self._reserve(event, reserve_within) if reserve_within is not None else None
        movement = event.movement
        Event.objects.create(
            event_id=event.id,
            type=movement.type.value,
            account_id=movement.account_id,
            counterparty_id=movement.counterparty_id,
            amount=event.amount,
            currency=event.currency.code,
            reference=movement.reference,
            memo=movement.memo,
            business_date=event.business_date,
            requested_by_id=event.requested_by,
            created_at=event.accepted_at,
        )
        outbox = OutboxMessage.for_event(
            event_id=event.id,
            event_type=movement.type,
            account_id=movement.account_id,
            counterparty_id=movement.counterparty_id,
            amount=event.amount,
            currency=event.currency.code,
            shards=self._shards,
        )
        outbox.save(force_insert=True)
        with connection.cursor() as cursor:
            # Wakes the relay at commit; a lost notification only delays it to its next poll.
            cursor.execute("SELECT pg_notify('remit_outbox', %s)", [str(outbox.shard)])
        return usage

    def _reserve(self, event: AcceptedEvent, daily_limit: int) -> LimitUsage:
        params = {
            "account": event.movement.account_id,
            "day": event.business_date,
            "amount": event.amount,
            "limit": daily_limit,
        }
        with connection.cursor() as cursor:
            cursor.execute(_RESERVE, params)
            row = cursor.fetchone()
        if row is None:
            raise errors.DailyLimitExceeded()
        return LimitUsage(used=row[0], pending=row[1])
