"""The use cases: accepting movements on the API side, applying events on the worker side."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from transfers.domain import errors
from transfers.domain.model import (
    AcceptedEvent,
    Account,
    AccountStatus,
    AuditEntry,
    Caller,
    EventRecord,
    EventType,
    IdempotencyKey,
    LimitFigures,
    LimitUsage,
    Movement,
    Outcome,
    PendingEvent,
    ReversalRequest,
    ReversalStatus,
    check_reversible,
    decide,
)
from transfers.domain.money import Currency, to_minor
from transfers.ports import (
    AcceptanceStore,
    AuditLog,
    Backlog,
    BatchFailed,
    Clock,
    EventFailed,
    LedgerBatch,
    LedgerStore,
    LimitCache,
    LimitKey,
    OpsStore,
)

log = logging.getLogger(__name__)


def open_account(
    *, caller: Caller, currency: Currency, daily_limit: int | None, store: AcceptanceStore
) -> Account:
    """Open an active account for the caller; `daily_limit` in minor units, else the currency's default.

    Raises ValidationFailed if the limit is outside 1 minor unit .. 100x the default.
    """
    limit = currency.default_daily_limit if daily_limit is None else daily_limit
    if not 1 <= limit <= currency.max_daily_limit:
        raise errors.ValidationFailed(
            {"daily_limit": [f"must be between one minor unit and 100 times the {currency.code} default"]}
        )
    return store.open_account(owner_id=caller.user_id, currency=currency, daily_limit=limit)


def read_account(
    *, caller: Caller, account_id: uuid.UUID, store: AcceptanceStore, audit: AuditLog, what: str = "account"
) -> Account:
    """The account if the caller owns it or holds `ops`; an ops read of someone else's account (or
    of its `what`: entries, events, ledger) is recorded in the audit.

    Raises NotFound otherwise: someone else's account looks like one that does not exist.
    """
    account = store.accounts(account_id).get(account_id)
    if account is None or not account.readable_by(caller):
        raise errors.NotFound("No such account.")
    if account.read_is_audited(caller):
        audit.record(
            AuditEntry(
                caller.user_id, f"read_{what}", "account", str(account_id), request_id=caller.request_id
            )
        )
    return account


def limit_figures(
    *, account_ids: Sequence[uuid.UUID], store: AcceptanceStore, cache: LimitCache, clock: Clock
) -> dict[uuid.UUID, LimitFigures]:
    """Today's limit figures of these accounts (visibility is the caller's to check first).

    From the cache where it holds today's figures, else from the store, which then fills the
    cache. Only for reading: accepting never asks the cache (the store's reservation decides).
    """
    day = clock.business_date(clock.now())
    figures = {i: f for i, f in cache.get(account_ids).items() if f.business_date == day}
    missing = [i for i in account_ids if i not in figures]
    if missing:
        read_at = clock.now()  # before the read: a stalled put must not stretch the entry's lifetime
        read = store.limit_figures(missing, day)
        cache.put(read, read_at=read_at)
        figures |= read
    return figures


def close_account(*, caller: Caller, account_id: uuid.UUID, store: AcceptanceStore) -> Account:
    """Close the caller's own account.

    Raises NotFound, Forbidden (ops closing someone else's), AccountNotEmpty.
    """
    with store.atomic():
        account = _movable_by(caller, store.accounts(account_id).get(account_id))
        if account.is_closed:
            return account
        return store.close_account(account_id)


def read_event(*, caller: Caller, event_id: uuid.UUID, store: OpsStore) -> EventRecord:
    """The event if the caller requested it or holds `ops`; an ops read of someone else's event is
    recorded in the audit. Raises NotFound otherwise."""
    event = store.event(event_id)
    if event is None or not event.readable_by(caller):
        raise errors.NotFound("No such event.")
    if event.read_is_audited(caller):
        store.record(
            AuditEntry(caller.user_id, "read_event", "event", str(event_id), request_id=caller.request_id)
        )
    return event


MAX_REASON_LENGTH = 500


def _reason(reason: str | None, *, required: bool = True) -> str:
    text = (reason or "").strip() if isinstance(reason, str) or reason is None else None
    if text is None:
        raise errors.ValidationFailed({"reason": ["must be a string"]})
    if required and not text:
        raise errors.ValidationFailed({"reason": ["This field is required: say why."]})
    if len(text) > MAX_REASON_LENGTH:
        raise errors.ValidationFailed({"reason": [f"at most {MAX_REASON_LENGTH} characters"]})
    return text


def set_account_frozen(
    *, caller: Caller, account_id: uuid.UUID, frozen: bool, reason: str | None, store: OpsStore
) -> Account:
    """Freeze or unfreeze anyone's account (ops, with a reason), recorded in the audit.

    Frozen, movements touching it are refused at acceptance and pending ones rejected by the
    worker (`account_frozen`); reads and reversals go on. Raises NotFound (a customer, someone
    else's), Forbidden (a customer, their own), AccountClosed, ValidationFailed (no reason).
    Freezing a frozen account (unfreezing an active one) changes nothing but is still recorded.
    """
    with store.atomic():
        account = store.lock_account(account_id)
        if account is None:
            raise errors.NotFound("No such account.")
        account.check_freezable_by(caller)
        why = _reason(reason)
        status = AccountStatus.FROZEN if frozen else AccountStatus.ACTIVE
        if account.status is not status:
            account = store.set_account_status(account_id, status)
        store.record(
            AuditEntry(
                caller.user_id,
                "freeze" if frozen else "unfreeze",
                "account",
                str(account_id),
                reason=why,
                request_id=caller.request_id,
            )
        )
    return account


def request_reversal(
    *, caller: Caller, event_id: uuid.UUID, reason: str | None, store: OpsStore, clock: Clock
) -> ReversalRequest:
    """Ask for a completed event to be reversed; another ops person approves or declines.

    Raises NotFound (an event the caller may not see), Forbidden (a customer's own event),
    ValidationFailed (no reason), NotReversible (not a completed deposit, withdrawal or transfer,
    or already reversed or awaiting approval).
    """
    with store.atomic():
        event = store.event(event_id, lock=True)  # two requests for one event meet on this lock
        if event is None or not event.readable_by(caller):
            raise errors.NotFound("No such event.")
        if not caller.is_ops:
            raise errors.Forbidden("Only ops staff may request a reversal.")
        why = _reason(reason)
        check_reversible(event, store.reversal_requests_of(event_id))
        request = ReversalRequest(
            id=uuid.uuid4(),
            event_id=event_id,
            status=ReversalStatus.AWAITING_APPROVAL,
            requested_by=caller.user_id,
            reason=why,
            created_at=clock.now(),
        )
        store.add_reversal_request(request)
        store.record(
            AuditEntry(
                caller.user_id,
                "reversal_requested",
                "event",
                str(event_id),
                reason=why,
                request_id=caller.request_id,
            )
        )
    return request


def approve_reversal(
    *,
    caller: Caller,
    request_id: uuid.UUID,
    reason: str | None,
    store: OpsStore,
    acceptance: AcceptanceStore,
    clock: Clock,
) -> AcceptedEvent:
    """Approve someone else's reversal request: accept the reversal event, which the worker
    applies like any other (new journal entries of type `reversal`, no daily limit; the worker
    decides `insufficient_funds` if the account to debit no longer holds the money).

    Raises NotFound (a customer), Forbidden (the requester: four eyes), NotReversible (already
    decided), AccountClosed (an account of the event was closed since).
    """
    # The accepting store's transaction: if the reply to its COMMIT is lost, it reads the outcome
    # back (committed: approved; cannot tell: OutcomeUnknown), as for any movement.
    with acceptance.atomic():
        request = store.reversal_request(request_id, lock=True)
        if request is None:
            raise errors.NotFound("No such reversal request.")
        request.check_decidable_by(caller)
        why = _reason(reason, required=False)
        original = store.event(request.event_id)
        assert original is not None
        debited, credited = original.reversal_sides(store.settlement_id(original.currency))
        now = clock.now()
        event = AcceptedEvent(
            id=uuid.uuid4(),
            movement=Movement(
                type=EventType.REVERSAL,
                account_id=debited,
                counterparty_id=credited,
                amount=original.currency.to_major(original.amount),
                reference=f"reversal of {original.id}",
                reverses=original.id,
            ),
            amount=original.amount,
            currency=original.currency,
            requested_by=caller.user_id,
            business_date=clock.business_date(now),
            accepted_at=now,
        )
        acceptance.add_event(event, reserve_within=None)
        store.decide_reversal_request(
            request_id,
            status=ReversalStatus.APPROVED,
            decided_by=caller.user_id,
            reason=why,
            decided_at=now,
            reversal_event_id=event.id,
        )
        store.record(
            AuditEntry(
                caller.user_id,
                "reversal_approved",
                "reversal",
                str(request_id),
                reason=why,
                request_id=caller.request_id,
            )
        )
    return event


def decline_reversal(
    *, caller: Caller, request_id: uuid.UUID, reason: str | None, store: OpsStore, clock: Clock
) -> ReversalRequest:
    """Decline someone else's reversal request, with a reason. Raises as approve_reversal does,
    and ValidationFailed without a reason."""
    with store.atomic():
        request = store.reversal_request(request_id, lock=True)
        if request is None:
            raise errors.NotFound("No such reversal request.")
        request.check_decidable_by(caller)
        why = _reason(reason)
        declined = store.decide_reversal_request(
            request_id,
            status=ReversalStatus.DECLINED,
            decided_by=caller.user_id,
            reason=why,
            decided_at=clock.now(),
            reversal_event_id=None,
        )
        store.record(
            AuditEntry(
                caller.user_id,
                "reversal_declined",
                "reversal",
                str(request_id),
                reason=why,
                request_id=caller.request_id,
            )
        )
    return declined


@dataclass(frozen=True)
class Acceptance:
    """The accepted event; on an idempotent replay only its id (it was accepted earlier)."""

    event_id: uuid.UUID
    replayed: bool = False
    event: AcceptedEvent | None = None


def accept_movement(
    *,
    caller: Caller,
    movement: Movement,
    idempotency: IdempotencyKey | None,
    store: AcceptanceStore,
    cache: LimitCache,
    clock: Clock,
    backlog: Backlog,
    max_lag: dt.timedelta,
) -> Acceptance:
    """Check and durably accept a deposit, withdrawal or transfer; no balance changes here.

    Raises Overloaded, before anything else, while the oldest event the worker has yet to apply
    was accepted more than `max_lag` ago. Raises NotFound, Forbidden, SameAccount,
    CurrencyMismatch, AccountClosed, AccountFrozen, DailyLimitExceeded, IdempotencyInProgress,
    IdempotencyKeyReused, ValidationFailed (more fraction digits than the currency has),
    OutcomeUnknown (the commit was sent, the connection broke and whether it committed could not
    be read back); any other failure of the store itself propagates, and nothing was accepted
    (the API answers 503). An event whose commit was in doubt and is read back as committed is
    returned as accepted.
    """
    _refuse_if_overloaded(backlog, clock, max_lag)
    if movement.counterparty_id == movement.account_id:
        raise errors.SameAccount()
    # A key, its event and its record commit together; without one, add_event is atomic by itself.
    with store.atomic() if idempotency is not None else nullcontext():
        if idempotency is not None:
            prior = store.claim_idempotency_key(idempotency)
            if prior is not None:
                fingerprint, event_id = prior
                if fingerprint != movement.fingerprint():
                    raise errors.IdempotencyKeyReused()
                return Acceptance(event_id, replayed=True)
        accounts = store.accounts(*filter(None, (movement.account_id, movement.counterparty_id)))
        source = _movable_by(caller, accounts.get(movement.account_id))
        target = _counterparty(movement, source, accounts)
        if source.is_closed or (target is not None and target.is_closed):
            raise errors.AccountClosed()
        now = clock.now()
        event = AcceptedEvent(
            id=uuid.uuid4(),
            movement=movement,
            amount=to_minor(movement.amount, source.currency),
            currency=source.currency,
            requested_by=caller.user_id,
            business_date=clock.business_date(now),
            accepted_at=now,
        )
        # The one decision on the daily limit: the store reserves the amount only within it.
        store.add_event(event, reserve_within=source.daily_limit if movement.type.is_outgoing else None)
        if idempotency is not None:
            store.remember_idempotency_key(idempotency, fingerprint=movement.fingerprint(), event_id=event.id)
    if movement.type.is_outgoing:
        cache.forget([source.id])  # its pending money changed: the next account read asks the store
    return Acceptance(event.id, event=event)


def _refuse_if_overloaded(backlog: Backlog, clock: Clock, max_lag: dt.timedelta) -> None:
    oldest = backlog.oldest_pending_at()
    if oldest is None:
        return
    past_bound = (clock.now() - oldest - max_lag).total_seconds()
    if past_bound > 0:
        # Past the bound by s seconds, the worker has s seconds of acceptances to apply: one at
        # least as fast as the API is done within s. Capped at the bound, so that clients come
        # back soon after a stopped worker runs again.
        retry_after = min(max(math.ceil(past_bound), 1), math.ceil(max_lag.total_seconds()))
        raise errors.Overloaded(retry_after=retry_after)


def _movable_by(caller: Caller, account: Account | None) -> Account:
    """The account if the caller may move its money; NotFound if they may not see it, else Forbidden."""
    if account is None:
        raise errors.NotFound("No such account.")
    account.check_movable_by(caller)
    return account


def _counterparty(movement: Movement, source: Account, accounts: dict[uuid.UUID, Account]) -> Account | None:
    if movement.counterparty_id is None:
        return None
    target = accounts.get(movement.counterparty_id)
    if target is None:
        raise errors.NotFound("No such receiving account.")
    if target.currency is not source.currency:
        raise errors.CurrencyMismatch()
    return target


@dataclass
class AppliedBatch:
    """What one batch did: the outcomes it recorded, the events it parked or held, and ids it never saw.

    `parked`: events the database refused to write; each parks its sending account. `held`: events
    of parked accounts, left pending behind the refused one. Both stay pending, need no message
    any more (`replay_events --parked` sends them again) and never stop the worker.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    parked: list[uuid.UUID] = field(default_factory=list)
    held: list[uuid.UUID] = field(default_factory=list)
    unknown: set[uuid.UUID] = field(default_factory=set)


def apply_events(*, event_ids: Sequence[uuid.UUID], ledger: LedgerStore, cache: LimitCache) -> AppliedBatch:
    """Apply the still-pending events among `event_ids`, in acceptance order, in one transaction.

    Events already final are skipped, which makes redelivery harmless; earlier pending events of
    the same senders are applied first. If the database refuses a write because of its data, the
    batch is applied again with a savepoint per event: an event it refuses stays pending and parks
    its sending account, whose own later events are then held behind it (credits into the
    account still apply: they belong to their senders' order). Raises whatever the store raises
    when the database itself fails (a lost connection, a schema error): nothing is committed and
    the caller tries again later.
    """
    try:
        return _apply_batch(event_ids, ledger, cache, isolated=False)
    except BatchFailed as exc:
        log.warning("a batch of %s events was refused (%s); applying them one by one", len(event_ids), exc)
        return _apply_batch(event_ids, ledger, cache, isolated=True)


def _apply_batch(
    event_ids: Sequence[uuid.UUID], ledger: LedgerStore, cache: LimitCache, *, isolated: bool
) -> AppliedBatch:
    result = AppliedBatch()
    with ledger.batch(event_ids, isolated=isolated) as batch:
        result.unknown = batch.unknown_event_ids
        accounts = dict(batch.accounts)  # moves on with each recorded event
        touched: dict[LimitKey, LimitUsage] = {}
        for event in batch.pending_events():
            if event.account_id in batch.parked:
                result.held.append(event.id)
                continue
            key = (event.account_id, event.business_date)
            usage = touched[key] if key in touched else batch.usage(key)
            if usage is None and event.type.is_outgoing:
                _park(batch, event, f"no limit reservation for {key}: the event was never reserved", result)
                continue
            outcome = decide(
                event,
                accounts=accounts,
                usage=usage or LimitUsage(),
                settlement_id=batch.settlement_id(event.account_id),
            )
            try:
                with batch.savepoint():
                    batch.record(event, outcome)
            except EventFailed as refusal:
                _park(batch, event, str(refusal), result)
                continue
            result.outcomes.append(outcome)
            for account_id, balance in outcome.balances.items():
                accounts[account_id] = dataclasses.replace(accounts[account_id], balance=balance)
            if outcome.usage is not None:
                touched[key] = outcome.usage
        # Forgotten before the commit and again after it: a read between the two may have filled
        # the cache with what was committed before this batch.
        senders = {account_id for account_id, _ in touched}
        cache.forget(senders)
    cache.forget(senders)
    return result


def _park(batch: LedgerBatch, event: PendingEvent, error: str, result: AppliedBatch) -> None:
    log.error(
        "event %s was refused (%s); parking account %s",
        event.id,
        error,
        event.account_id,
        extra={"event_id": str(event.id), "account": str(event.account_id)},
    )
    batch.park(event.account_id, event_id=event.id, error=error)
    result.parked.append(event.id)
