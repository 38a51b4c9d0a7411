"""What ops actions change, in PostgreSQL: account status, reversal requests and the audit record."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from transfers.adapters.tables import AccountTable
from transfers.domain.model import (
    Account,
    AccountStatus,
    AuditEntry,
    EventRecord,
    EventStatus,
    EventType,
    ReversalRequest,
    ReversalStatus,
)
from transfers.domain.money import Currency
from transfers.models import AuditRecord, Event
from transfers.models import ReversalRequest as ReversalRequestRow


def _event(row: Event) -> EventRecord:
    return EventRecord(
        id=row.event_id,
        type=EventType(row.type),
        status=EventStatus(row.status),
        account_id=row.account_id,
        counterparty_id=row.counterparty_id,
        amount=row.amount,
        currency=Currency[row.currency],
        requested_by=row.requested_by_id,
    )


def _request(row: ReversalRequestRow) -> ReversalRequest:
    return ReversalRequest(
        id=row.id,
        event_id=row.event_id,
        status=ReversalStatus(row.status),
        requested_by=row.requested_by_id,
        reason=row.reason,
        created_at=row.created_at,
        decided_by=row.decided_by_id,
        decision_reason=row.decision_reason,
        decided_at=row.decided_at,
        reversal_event_id=row.reversal_event_id,
    )


class DjangoAuditLog:
    def record(self, entry: AuditEntry) -> None:
        AuditRecord.objects.create(
            actor_id=entry.actor_id,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            reason=entry.reason,
            request_id=entry.request_id,
        )


class DjangoOpsStore(DjangoAuditLog):
    def __init__(self, *, accounts: AccountTable) -> None:
        self._table = accounts

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with transaction.atomic():
            yield

    def lock_account(self, account_id: uuid.UUID) -> Account | None:
        account = self._table.lock([account_id]).get(account_id)
        return account if account is not None and account.owner_id is not None else None

    def set_account_status(self, account_id: uuid.UUID, status: AccountStatus) -> Account:
        return self._table.set_status(account_id, status)

    def event(self, event_id: uuid.UUID, *, lock: bool = False) -> EventRecord | None:
        rows = Event.objects.filter(event_id=event_id)
        row = (rows.select_for_update(no_key=True) if lock else rows).first()
        return _event(row) if row is not None else None

    def settlement_id(self, currency: Currency) -> uuid.UUID:
        return self._table.settlement_ids()[currency]

    def reversal_requests_of(self, event_id: uuid.UUID) -> list[tuple[ReversalRequest, EventStatus | None]]:
        rows = ReversalRequestRow.objects.filter(event_id=event_id).select_related("reversal_event")
        return [
            (_request(r), EventStatus(r.reversal_event.status) if r.reversal_event else None) for r in rows
        ]

    def add_reversal_request(self, request: ReversalRequest) -> None:
        ReversalRequestRow.objects.create(
            id=request.id,
            event_id=request.event_id,
            status=request.status.value,
            requested_by_id=request.requested_by,
            reason=request.reason,
            created_at=request.created_at,
        )

    def reversal_request(self, request_id: uuid.UUID, *, lock: bool = False) -> ReversalRequest | None:
        rows = ReversalRequestRow.objects.filter(id=request_id)
        row = (rows.select_for_update() if lock else rows).first()
        return _request(row) if row is not None else None

    def decide_reversal_request(
        self,
        request_id: uuid.UUID,
        *,
        status: ReversalStatus,
        decided_by: int,
        reason: str,
        decided_at: dt.datetime,
        reversal_event_id: uuid.UUID | None,
    ) -> ReversalRequest:
        ReversalRequestRow.objects.filter(id=request_id).update(
            status=status.value,
            decided_by_id=decided_by,
            decision_reason=reason,
            decided_at=decided_at,
            reversal_event_id=reversal_event_id,
        )
        return _request(ReversalRequestRow.objects.get(id=request_id))
