"""A stateful property test: random accepts, applies, refusals and database failures against a model.

Hypothesis drives the core's use cases (accept_movement, apply_events) over the fake ports and
checks after every step what the contract's invariants say, against a model of the rules written
here apart from `decide`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from tests.unit.transfers.fakes import (
    FakeAcceptanceStore,
    FakeBacklog,
    FakeClock,
    FakeDatabaseUnavailable,
    FakeLedgerStore,
    FakeLimitCache,
)
from transfers import services
from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, Caller, EventType, IdempotencyKey, Movement
from transfers.domain.money import Currency

OWNER = Caller(1)
REFUSALS_AT_ACCEPTANCE = (errors.DailyLimitExceeded, errors.SameAccount, errors.CurrencyMismatch)


def model_outcomes(events: list[AcceptedEvent], order: list[uuid.UUID], limits: dict) -> tuple[dict, dict]:
    """Replay events in the order they were applied: each event's (status, reason), final balances."""
    by_id = {e.id: e for e in events}
    balances: dict[uuid.UUID, int] = defaultdict(int)
    used: dict[tuple, int] = defaultdict(int)
    outcomes = {}
    for event_id in order:
        event = by_id[event_id]
        kind, source, target = event.movement.type, event.movement.account_id, event.movement.counterparty_id
        amount, day = event.amount, event.business_date
        credited = source if kind is EventType.DEPOSIT else target
        if kind is not EventType.DEPOSIT and balances[source] < amount:
            outcomes[event_id] = ("rejected", "insufficient_funds")
        elif kind is not EventType.DEPOSIT and used[(source, day)] + amount > limits[source]:
            outcomes[event_id] = ("rejected", "daily_limit_exceeded")
        elif credited is not None and balances[credited] + amount > event.currency.max_amount:
            outcomes[event_id] = ("rejected", "balance_limit_exceeded")
        else:
            outcomes[event_id] = ("completed", None)
            if kind is not EventType.DEPOSIT:
                balances[source] -= amount
                used[(source, day)] += amount
            if credited is not None:
                balances[credited] += amount
    return outcomes, balances


class MoneyFlow(RuleBasedStateMachine):
    accounts = Bundle("accounts")

    @initialize()
    def start(self) -> None:
        self.accepted = FakeAcceptanceStore()
        self.ledger = FakeLedgerStore(self.accepted)
        self.cache = FakeLimitCache()
        self.clock = FakeClock()
        self.keys: dict[str, uuid.UUID] = {}
        self.seen_final: dict[uuid.UUID, tuple] = {}

    @rule(target=accounts, currency=st.sampled_from([Currency.KRW, Currency.USD]), limit=st.integers(1, 3000))
    def open_account(self, currency: Currency, limit: int) -> uuid.UUID:
        return self.accepted.open_account(owner_id=OWNER.user_id, currency=currency, daily_limit=limit).id

    @rule(
        kind=st.sampled_from([EventType.DEPOSIT, EventType.WITHDRAWAL]),
        account=accounts,
        amount=st.integers(1, 2000),
        key=st.none() | st.sampled_from(["k1", "k2"]),
    )
    def move_cash(self, kind: EventType, account: uuid.UUID, amount: int, key: str | None) -> None:
        self._accept(Movement(type=kind, account_id=account, amount=self._major(account, amount)), key)

    @rule(source=accounts, receiver=accounts, amount=st.integers(1, 2000))
    def transfer(self, source: uuid.UUID, receiver: uuid.UUID, amount: int) -> None:
        movement = Movement(
            type=EventType.TRANSFER,
            account_id=source,
            counterparty_id=receiver,
            amount=self._major(source, amount),
        )
        self._accept(movement, None)

    @rule(data=st.data())
    def apply_some(self, data) -> None:
        pending = [e.id for e in self.ledger.pending_events()]
        if not pending:
            return
        chosen = data.draw(st.lists(st.sampled_from(pending), min_size=1, max_size=6, unique=True))
        services.apply_events(event_ids=chosen, ledger=self.ledger, cache=self.cache)

    @rule(data=st.data())
    def refuse_the_writes_of_one_event(self, data) -> None:
        pending = [e.id for e in self.ledger.pending_events()]
        if pending:
            self.ledger.refuse.add(data.draw(st.sampled_from(pending)))

    @rule()
    def fix_the_cause_and_lift_the_parks(self) -> None:
        self.ledger.refuse.clear()
        self.ledger.parked = {}

    @rule(data=st.data())
    def the_database_cannot_write(self, data) -> None:
        pending = [e.id for e in self.ledger.pending_events()]
        before = (dict(self.ledger.outcomes), dict(self.ledger.parked), dict(self.accepted.rows))
        self.ledger.unavailable = True
        with pytest.raises(FakeDatabaseUnavailable):
            services.apply_events(event_ids=pending[:3], ledger=self.ledger, cache=self.cache)
        self.ledger.unavailable = False
        assert (self.ledger.outcomes, self.ledger.parked, self.accepted.rows) == before

    @rule()
    def a_day_passes(self) -> None:
        self.clock.moment += dt.timedelta(days=1)

    def _major(self, account: uuid.UUID, minor: int) -> Decimal:
        return Decimal(minor).scaleb(-self.accepted.rows[account].currency.digits)

    def _accept(self, movement: Movement, key: str | None) -> None:
        idempotency = IdempotencyKey(OWNER.user_id, f"POST {movement.type}", key) if key else None
        try:
            acceptance = services.accept_movement(
                caller=OWNER,
                movement=movement,
                idempotency=idempotency,
                store=self.accepted,
                cache=self.cache,
                clock=self.clock,
                backlog=FakeBacklog(),
                max_lag=dt.timedelta(seconds=30),
            )
        except (*REFUSALS_AT_ACCEPTANCE, errors.IdempotencyKeyReused):
            return
        if key is not None:
            assert self.keys.setdefault(f"{movement.type} {key}", acceptance.event_id) == acceptance.event_id

    @invariant()
    def no_balance_is_negative_or_past_the_maximum(self) -> None:
        for account in self.accepted.rows.values():
            assert 0 <= account.balance <= account.currency.max_amount

    @invariant()
    def money_is_conserved_per_currency(self) -> None:
        flows: dict[Currency, int] = defaultdict(int)
        for event in self.accepted.events:
            outcome = self.ledger.outcomes.get(event.id)
            if (
                outcome is not None
                and outcome.status == "completed"
                and event.movement.type is not EventType.TRANSFER
            ):
                flows[event.currency] += (
                    event.amount if event.movement.type is EventType.DEPOSIT else -event.amount
                )
        held: dict[Currency, int] = defaultdict(int)
        for account in self.accepted.rows.values():
            held[account.currency] += account.balance
        assert {c: v for c, v in held.items() if v} == {c: v for c, v in flows.items() if v}

    @invariant()
    def an_outcome_once_written_never_changes(self) -> None:
        for event_id, outcome in self.ledger.outcomes.items():
            now = (outcome.status, outcome.reason)
            assert self.seen_final.setdefault(event_id, now) == now

    @invariant()
    def each_accounts_own_events_are_applied_in_acceptance_order(self) -> None:
        seq = {e.id: i for i, e in enumerate(self.accepted.events)}
        sender = {e.id: e.movement.account_id for e in self.accepted.events}
        last: dict[uuid.UUID, int] = {}
        for event_id in self.ledger.outcomes:
            assert seq[event_id] > last.get(sender[event_id], -1)
            last[sender[event_id]] = seq[event_id]

    @invariant()
    def limit_usage_matches_the_events_and_no_day_passes_its_limit(self) -> None:
        expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for event in self.accepted.events:
            if event.movement.type.is_outgoing:
                outcome = self.ledger.outcomes.get(event.id)
                key = (event.movement.account_id, event.business_date)
                if outcome is None:
                    expected[key][1] += event.amount
                elif outcome.status == "completed":
                    expected[key][0] += event.amount
        for key, usage in self.accepted.usage.items():
            assert [usage.used, usage.pending] == expected.get(key, [0, 0])
            assert usage.used <= self.accepted.rows[key[0]].daily_limit

    @invariant()
    def the_model_replayed_in_apply_order_agrees(self) -> None:
        limits = {i: a.daily_limit for i, a in self.accepted.rows.items()}
        outcomes, balances = model_outcomes(self.accepted.events, list(self.ledger.outcomes), limits)
        assert outcomes == {i: (o.status.value, o.reason) for i, o in self.ledger.outcomes.items()}
        assert {i: a.balance for i, a in self.accepted.rows.items() if a.balance} == {
            i: b for i, b in balances.items() if b
        }

    def teardown(self) -> None:
        if not hasattr(self, "ledger"):
            return
        self.fix_the_cause_and_lift_the_parks()
        services.apply_events(
            event_ids=[e.id for e in self.ledger.pending_events()], ledger=self.ledger, cache=self.cache
        )
        assert self.ledger.pending_events() == []


MoneyFlow.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None, database=None)
test_money_flow_keeps_every_invariant = MoneyFlow.TestCase
