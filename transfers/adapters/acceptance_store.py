"""The API side's PostgreSQL state: accounts, limit reservations, events and their outbox messages."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from transfers.adapters.commit_outcome import LostSession, event_committed
from transfers.adapters.reply_deadline import reply_deadline
from transfers.adapters.tables import AccountTable, OutboxTable
from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, Account, EventStatus, IdempotencyKey, LimitFigures
from transfers.domain.money import Currency
from transfers.models import Event, IdempotencyRecord
from transfers.models import LimitUsage as LimitUsageRow

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
_USAGE = LimitUsageRow._meta.db_table

# Accepting is one statement, so outside a transaction it commits in one round trip: check that
# the accounts are still active (or frozen, for a correction), reserve the limit (only if used +
# pending + amount stays within it), then the event, its outbox message and the relay's wake-up,
# each only if the one before it happened.
_ACCEPT = """
WITH active AS (
    SELECT count(*) FILTER (WHERE status = 'active' OR (status = 'frozen' AND %(correction)s))
            = 1 + (%(counterparty)s::uuid IS NOT NULL)::int AS ok,
        coalesce(bool_or(status = 'frozen'), false) AS frozen
    FROM {accounts} WHERE id IN (%(account)s, %(counterparty)s)
), reservation AS (
    INSERT INTO {usage} AS usage (account_id, business_date, used, pending)
    SELECT %(account)s, %(day)s, 0, %(amount)s
    WHERE %(reserve)s AND %(amount)s <= %(limit)s AND (SELECT ok FROM active)
    ON CONFLICT (account_id, business_date) DO UPDATE
        SET pending = usage.pending + EXCLUDED.pending
        WHERE usage.used + usage.pending + EXCLUDED.pending <= %(limit)s
    RETURNING 1
), event AS (
    INSERT INTO {events} (event_id, type, status, account_id, counterparty_id, amount,
        currency, reference, memo, business_date, requested_by_id, created_at, request_id, reverses)
    SELECT %(id)s, %(type)s, 'pending', %(account)s, %(counterparty)s, %(amount)s, %(currency)s,
        %(reference)s, %(memo)s, %(day)s, %(user)s, %(now)s, %(request_id)s, %(reverses)s
    WHERE (SELECT ok FROM active) AND (NOT %(reserve)s OR EXISTS (SELECT FROM reservation))
    RETURNING event_id
), outbox AS (
    INSERT INTO {outbox} (event_id, event_type, shard_key, body, headers, created_at)
    SELECT event_id, %(type)s, %(shard_key)s, %(body)s, %(headers)s, %(now)s FROM event
    RETURNING shard_key
)
SELECT (SELECT ok FROM active), (SELECT count(*) FROM event), (SELECT frozen FROM active),
    (SELECT pg_notify('remit_outbox', shard_key::text) FROM outbox)
"""


class KnownAccounts:
    """Customer accounts this process has read, so that accepting a movement need not read them again.

    Sound because what the API checks of an account never changes once it exists (owner,
    currency, daily limit), except its status: it goes between active and frozen and ends
    closed. A cached "closed" is the truth; any other cached status is only a hint, and the
    statement that accepts decides on the status it reads.
    Balances in here are stale; nothing on the API side reads them. Bounded: the oldest entry
    goes first.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._accounts: dict[uuid.UUID, Account] = {}
        self._lock = threading.Lock()

    def get(self, account_ids: tuple[uuid.UUID, ...]) -> dict[uuid.UUID, Account] | None:
        """All of them, or None if any is unknown."""
        found = {i: a for i in account_ids if (a := self._accounts.get(i)) is not None}
        return found if len(found) == len(account_ids) else None

    def add(self, accounts: Iterable[Account]) -> None:
        with self._lock:
            for account in accounts:
                self._accounts[account.id] = account
            while len(self._accounts) > self._capacity:
                del self._accounts[next(iter(self._accounts))]

    def forget(self, *account_ids: uuid.UUID | None) -> None:
        """Forget accounts that may have been closed since they were read: the next read fetches them."""
        with self._lock:
            for account_id in account_ids:
                self._accounts.pop(account_id, None)


class DjangoAcceptanceStore:
    """Accepting is in doubt when the connection breaks after the commit was sent (the autocommit
    accepting statement, or the COMMIT of `atomic()`): the outcome is then read back on a new
    connection. Any other error means nothing was committed.
    """

    def __init__(self, *, accounts: AccountTable, outbox: OutboxTable) -> None:
        self._table = accounts
        self._outbox = outbox
        self._accept = _ACCEPT.format(
            accounts=accounts.name, usage=_USAGE, events=Event._meta.db_table, outbox=outbox.name
        )
        self._accounts = KnownAccounts()
        # The event the current thread's transaction accepted, and the session it went to.
        self._accepted = threading.local()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        if connection.in_atomic_block:  # not ours to commit
            with transaction.atomic():
                yield
            return
        self._accepted.event = None
        session = None
        try:
            with ExitStack() as commit, transaction.atomic():
                yield
                session = connection.connection  # the COMMIT goes out on it as the block ends
                commit.enter_context(reply_deadline(session))
        except DatabaseError:
            accepted = self._accepted.event
            if accepted is None or session is None or not session.closed:
                raise
            event_id, lost_session = accepted
            if not event_committed(event_id, lost_session=lost_session):
                raise
        finally:
            self._accepted.event = None

    def accounts(self, *account_ids: uuid.UUID) -> dict[uuid.UUID, Account]:
        """Possibly from KnownAccounts: an account closed since may still show as active."""
        known = self._accounts.get(account_ids)
        if known is not None:
            return known
        found = self._table.customers(account_ids)
        self._accounts.add(found)
        return {account.id: account for account in found}

    def open_account(self, *, owner_id: int, currency: Currency, daily_limit: int) -> Account:
        return self._table.open(owner_id=owner_id, currency=currency, daily_limit=daily_limit)

    def close_account(self, account_id: uuid.UUID) -> Account:
        account = self._table.lock([account_id])[account_id]
        self._accounts.forget(account_id)
        if account.is_closed:  # closed meanwhile, by a request to another process
            return account
        pending = (
            Event.objects.filter(status=EventStatus.PENDING).filter(account_id=account_id).exists()
            or Event.objects.filter(status=EventStatus.PENDING, counterparty_id=account_id).exists()
        )
        account.check_closable(pending=pending)
        return self._table.mark_closed(account_id)

    def limit_figures(self, account_ids: Sequence[uuid.UUID], day: dt.date) -> dict[uuid.UUID, LimitFigures]:
        used: dict[uuid.UUID, int] = defaultdict(int)
        pending: dict[uuid.UUID, int] = defaultdict(int)
        pending_out: dict[uuid.UUID, int] = defaultdict(int)
        rows = LimitUsageRow.objects.filter(account_id__in=account_ids).filter(
            Q(business_date=day) | Q(pending__gt=0)  # the partial index usage_with_pending
        )
        for account_id, business_date, used_on_day, pending_on_day in rows.values_list(
            "account_id", "business_date", "used", "pending"
        ):
            pending_out[account_id] += pending_on_day
            if business_date == day:
                used[account_id], pending[account_id] = used_on_day, pending_on_day
        return {
            i: LimitFigures(business_date=day, used=used[i], pending=pending[i], pending_out=pending_out[i])
            for i in account_ids
        }

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

    def add_event(self, event: AcceptedEvent, *, reserve_within: int | None) -> None:
        movement = event.movement
        outbox = self._outbox.message(
            event_id=event.id,
            event_type=movement.type,
            account_id=movement.account_id,
            accepted_at=event.accepted_at,
        )
        session = None
        try:
            with connection.cursor() as cursor:
                session = connection.connection
                sent_on = LostSession.of(session)
                with reply_deadline(session):
                    cursor.execute(
                        self._accept,
                        {
                            "id": event.id,
                            "type": movement.type.value,
                            "account": movement.account_id,
                            "counterparty": movement.counterparty_id,
                            "amount": event.amount,
                            "currency": event.currency.code,
                            "reference": movement.reference,
                            "memo": movement.memo,
                            "day": event.business_date,
                            "user": event.requested_by,
                            "now": event.accepted_at,
                            "reserve": reserve_within is not None,
                            "limit": reserve_within or 0,
                            "shard_key": outbox.shard_key,
                            "body": outbox.body,
                            "headers": Jsonb(outbox.headers),
                            "request_id": outbox.request_id,
                            "reverses": movement.reverses,
                            # A correction (a reversal) is accepted on frozen accounts too.
                            "correction": movement.type.is_correction,
                        },
                    )
                active, inserted, frozen, _ = cursor.fetchone()
        except DatabaseError:
            if connection.in_atomic_block or session is None or not session.closed:
                raise
            connection.close()  # broken: this thread's next query connects again
            if not event_committed(event.id, lost_session=sent_on):
                raise
            active, inserted, frozen = True, 1, False
        if connection.in_atomic_block:
            self._accepted.event = (event.id, sent_on)
        if not active:
            self._accounts.forget(movement.account_id, movement.counterparty_id)
            raise (
                errors.AccountFrozen()
                if frozen and not movement.type.is_correction
                else errors.AccountClosed()
            )
        if not inserted:
            raise errors.DailyLimitExceeded()
