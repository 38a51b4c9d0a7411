"""A pure model of the bank's rules, written apart from `transfers.domain` so that it can judge it: it
replays final events in the order they were applied and says what each should have become."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

FRACTION_DIGITS = {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2}
MAX_MAJOR_UNITS = 10**15


@dataclass(frozen=True)
class ModelAccount:
    id: str
    currency: str
    daily_limit: int
    closed_at: dt.datetime | None = None

    @property
    def ceiling(self) -> int:
        return MAX_MAJOR_UNITS * 10 ** FRACTION_DIGITS[self.currency]

    def closed_before(self, moment: dt.datetime) -> bool:
        return self.closed_at is not None and self.closed_at <= moment


@dataclass(frozen=True)
class ModelEvent:
    id: str
    type: str  # deposit, withdrawal, transfer
    account: str  # a deposit's or withdrawal's account; a transfer's sender
    counterparty: str | None
    amount: int
    business_date: dt.date
    applied_at: dt.datetime


@dataclass(frozen=True)
class Verdict:
    status: str  # completed or rejected
    reason: str | None = None


@dataclass
class Replay:
    verdicts: dict[str, Verdict]
    balances: dict[str, int]
    completed_outgoing: dict[tuple[str, dt.date], int]


def replay(events: Iterable[ModelEvent], accounts: dict[str, ModelAccount]) -> Replay:
    """Apply `events` (in apply order) to zero balances. Checks, in this order: account_closed (either
    side), insufficient_funds (outgoing, balance below the amount), daily_limit_exceeded (the source's
    completed outgoing money that business day plus the amount over its limit), balance_limit_exceeded
    (the credited account past 10^15 major units); otherwise completed, and the money moves."""
    balances: dict[str, int] = defaultdict(int)
    outgoing: dict[tuple[str, dt.date], int] = defaultdict(int)
    verdicts = {}
    for event in events:
        source = accounts[event.account]
        target = accounts[event.counterparty] if event.counterparty else None
        is_outgoing = event.type in ("withdrawal", "transfer")
        credited = source if event.type == "deposit" else target
        day = (event.account, event.business_date)
        if source.closed_before(event.applied_at) or (target and target.closed_before(event.applied_at)):
            verdict = Verdict("rejected", "account_closed")
        elif is_outgoing and balances[source.id] < event.amount:
            verdict = Verdict("rejected", "insufficient_funds")
        elif is_outgoing and outgoing[day] + event.amount > source.daily_limit:
            verdict = Verdict("rejected", "daily_limit_exceeded")
        elif credited is not None and balances[credited.id] + event.amount > credited.ceiling:
            verdict = Verdict("rejected", "balance_limit_exceeded")
        else:
            verdict = Verdict("completed")
            if is_outgoing:
                balances[source.id] -= event.amount
                outgoing[day] += event.amount
            if credited is not None:
                balances[credited.id] += event.amount
        verdicts[event.id] = verdict
    return Replay(verdicts, dict(balances), dict(outgoing))
