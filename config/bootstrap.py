"""The composition root: builds every adapter once and binds them into the use cases.

The URL map hands the bound use cases to the views (`as_view(...)`); the worker command asks for a
`Worker`. Nothing below `config/` imports this module. Tests reach the same adapters through the
accessors below, or bind the use cases to fakes themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

from django.conf import settings

from accounts import oidc
from accounts.oidc import TokenVerifier
from accounts.tables import DjangoAccountTable
from ledger.tables import DjangoJournalTable
from messaging.consumer import EventConsumer
from messaging.outbox import DjangoOutboxTable
from messaging.relay import OutboxRelay
from messaging.worker import Worker
from telemetry import metrics
from transfers import services
from transfers.adapters.acceptance_store import DjangoAcceptanceStore
from transfers.adapters.backlog import DjangoBacklog
from transfers.adapters.clock import SystemClock
from transfers.adapters.event_waiter import PostgresEventWaiter
from transfers.adapters.ledger_store import DjangoLedgerStore
from transfers.adapters.limit_cache import RedisLimitCache
from transfers.adapters.ops_store import DjangoOpsStore
from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, Account, EventRecord, LimitFigures, ReversalRequest
from transfers.ports import AcceptanceStore, Backlog, Clock, LimitCache, OpsStore


@cache
def acceptance_store() -> DjangoAcceptanceStore:
    return DjangoAcceptanceStore(accounts=DjangoAccountTable(), outbox=DjangoOutboxTable())


@cache
def ledger_store() -> DjangoLedgerStore:
    return DjangoLedgerStore(accounts=DjangoAccountTable(), journal=DjangoJournalTable())


@cache
def ops_store() -> DjangoOpsStore:
    return DjangoOpsStore(accounts=DjangoAccountTable())


@cache
def limit_cache() -> RedisLimitCache:
    return RedisLimitCache()


@cache
def clock() -> SystemClock:
    return SystemClock(settings.TIME_ZONE)


@cache
def backlog() -> DjangoBacklog:
    return DjangoBacklog()


@cache
def event_waiter() -> PostgresEventWaiter:
    return PostgresEventWaiter(max_waiters=settings.EVENT_WAITERS_PER_PROCESS)


def max_accept_lag() -> dt.timedelta:
    return dt.timedelta(seconds=settings.ACCEPT_MAX_LAG_SECONDS)


def token_verifier() -> TokenVerifier:
    """The verifier of the current issuer and audience (tests point them elsewhere)."""
    return _verifier(
        settings.OIDC_ISSUER,
        settings.OIDC_AUDIENCE,
        settings.OIDC_LEEWAY_SECONDS,
        settings.OIDC_HTTP_TIMEOUT_SECONDS,
    )


@cache
def _verifier(issuer: str, audience: str, leeway: float, timeout: float) -> TokenVerifier:
    return TokenVerifier(
        issuer=issuer, audience=audience, leeway_seconds=leeway, http_timeout_seconds=timeout
    )


def forget_token_verifiers() -> None:
    """Drop every verifier with its discovery document and keys (tests start each from nothing)."""
    _verifier.cache_clear()


@dataclass(frozen=True)
class Api:
    """The use cases the HTTP views call, with their adapters bound; each takes only the request's
    own arguments (caller, movement, account id, ...)."""

    accept_movement: Callable[..., services.Acceptance]
    open_account: Callable[..., Account]
    close_account: Callable[..., Account]
    read_account: Callable[..., Account]
    limit_figures: Callable[..., dict[uuid.UUID, LimitFigures]]
    # Ops: the API's endpoints and the admin's pages are two doors to these same use cases.
    read_event: Callable[..., EventRecord]
    set_account_frozen: Callable[..., Account]
    request_reversal: Callable[..., ReversalRequest]
    approve_reversal: Callable[..., AcceptedEvent]
    decline_reversal: Callable[..., ReversalRequest]
    record_audit: Callable[..., None]
    waiter: PostgresEventWaiter


def measured(accept_movement: Callable[..., services.Acceptance]) -> Callable[..., services.Acceptance]:
    """`accept_movement` counting what it accepts and what admission control refuses."""

    def accept(*, movement, **kwargs) -> services.Acceptance:
        try:
            acceptance = accept_movement(movement=movement, **kwargs)
        except errors.Overloaded:
            metrics.admission_refusals.inc()
            raise
        if not acceptance.replayed:
            metrics.events_accepted.labels(movement.type.value).inc()
        return acceptance

    return accept


@cache
def api() -> Api:
    """The web process's application; the URL map asks for it once, at start-up."""
    oidc.install_verifier(token_verifier)
    metrics.admission_max_lag.set(max_accept_lag().total_seconds())
    app = build_api(
        store=acceptance_store(),
        cache=limit_cache(),
        clock=clock(),
        backlog=backlog(),
        max_lag=max_accept_lag(),
        ops=ops_store(),
    )
    return dataclasses.replace(app, accept_movement=measured(app.accept_movement))


def build_api(
    *,
    store: AcceptanceStore,
    cache: LimitCache,
    clock: Clock,
    backlog: Backlog,
    max_lag: dt.timedelta,
    ops: OpsStore,
) -> Api:
    """The use cases bound to these adapters: the real ones in `api()`, fakes in the unit tests."""
    return Api(
        accept_movement=partial(
            services.accept_movement, store=store, cache=cache, clock=clock, backlog=backlog, max_lag=max_lag
        ),
        open_account=partial(services.open_account, store=store),
        close_account=partial(services.close_account, store=store),
        read_account=partial(services.read_account, store=store, audit=ops),
        limit_figures=partial(services.limit_figures, store=store, cache=cache, clock=clock),
        read_event=partial(services.read_event, store=ops),
        set_account_frozen=partial(services.set_account_frozen, store=ops),
        request_reversal=partial(services.request_reversal, store=ops, clock=clock),
        approve_reversal=partial(services.approve_reversal, store=ops, acceptance=store, clock=clock),
        decline_reversal=partial(services.decline_reversal, store=ops, clock=clock),
        record_audit=ops.record,
        waiter=event_waiter(),
    )


def worker(*, shard: int, prefetch: int, batch_size: int, relay: bool) -> Worker:
    """One shard's worker: its consumer and, unless `relay` is False, its outbox relay."""
    stop = threading.Event()
    shards = settings.ACCOUNT_EVENT_SHARDS
    consumer = EventConsumer(
        url=settings.RABBITMQ_URL,
        shard=shard,
        shards=shards,
        prefetch=prefetch,
        batch_size=batch_size,
        ledger=ledger_store(),
        cache=limit_cache(),
        stop=stop,
    )
    outbox = OutboxRelay(url=settings.RABBITMQ_URL, shard=shard, shards=shards, stop=stop) if relay else None
    return Worker(consumer=consumer, relay=outbox, stop=stop)
