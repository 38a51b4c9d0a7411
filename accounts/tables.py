"""The accounts table as the core's stores see it: transfers.adapters.tables.AccountTable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from accounts.models import Account as AccountRow
from transfers.domain.model import Account, AccountStatus
from transfers.domain.money import Currency

_FIELDS = ("id", "owner_id", "currency", "balance", "daily_limit", "status")
_LOCK = f"""
SELECT {", ".join(_FIELDS)} FROM {AccountRow._meta.db_table}
WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE
"""


_CUSTOMERS = f"""
SELECT {", ".join(_FIELDS)} FROM {AccountRow._meta.db_table}
WHERE id = ANY(%s) AND kind = %s
"""


def _account(row: tuple) -> Account:
    """An account from a row of _FIELDS, in their order."""
    return Account(row[0], row[1], Currency[row[2]], row[3], row[4], AccountStatus(row[5]))


def to_account(row: dict) -> Account:
    return Account(
        id=row["id"],
        owner_id=row["owner_id"],
        currency=Currency[row["currency"]],
        balance=row["balance"],
        daily_limit=row["daily_limit"],
        status=AccountStatus(row["status"]),
    )


class DjangoAccountTable:
    name = AccountRow._meta.db_table

    def customers(self, account_ids: Sequence[uuid.UUID]) -> list[Account]:
        # Plain SQL: each web process reads every account it accepts for once; through the ORM that
        # was 15% of a new process's time under load until it had read them all (py-spy, bench/).
        with connection.cursor() as cursor:
            cursor.execute(_CUSTOMERS, [list(account_ids), AccountRow.Kind.CUSTOMER.value])
            return [_account(row) for row in cursor.fetchall()]

    def lock(self, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Account]:
        # Plain SQL: a worker's batch locks up to a thousand accounts, and the ORM's rows cost more.
        with connection.cursor() as cursor:
            cursor.execute(_LOCK, [list(account_ids)])
            return {row[0]: _account(row) for row in cursor.fetchall()}

    def open(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account:
        row = AccountRow.objects.create(owner_id=owner_id, currency=currency.code, daily_limit=daily_limit)
        return to_account({f: getattr(row, f) for f in _FIELDS})

    def mark_closed(self, account_id: uuid.UUID) -> Account:
        AccountRow.objects.filter(id=account_id).update(
            status=AccountRow.Status.CLOSED, closed_at=timezone.now()
        )
        return to_account(AccountRow.objects.values(*_FIELDS).get(id=account_id))

    def set_status(self, account_id: uuid.UUID, status: AccountStatus) -> Account:
        AccountRow.objects.filter(id=account_id).update(status=status.value)
        return to_account(AccountRow.objects.values(*_FIELDS).get(id=account_id))

    def settlement_ids(self) -> dict[Currency, uuid.UUID]:
        # Read per batch rather than cached: cheap, and never stale after a restore or a test flush.
        found = dict(AccountRow.objects.filter(kind=AccountRow.Kind.SETTLEMENT).values_list("currency", "id"))
        ids = {}
        for currency in Currency:
            if currency.code not in found:
                found[currency.code] = AccountRow.objects.get_or_create(
                    kind=AccountRow.Kind.SETTLEMENT,
                    currency=currency.code,
                    defaults={"daily_limit": currency.max_daily_limit},
                )[0].id
            ids[currency] = found[currency.code]
        return ids
