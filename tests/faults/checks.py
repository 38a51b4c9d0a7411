"""The checker: every invariant of the contract, judged from what the clients saw and what PostgreSQL,
RabbitMQ and the operators' commands show after the drain."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.faults.driver import Attempt, Operation
from tests.faults.model import ModelAccount, ModelEvent, replay

DEAD_LETTER_QUEUE = "account.events.dead"
# Answers that promise nothing was committed.
NOTHING_COMMITTED = "service_unavailable"
# Another account's event accepted while an account is parked is applied within this many seconds,
# faults or not: the longest fault that stops the worker holds 10 s.
OTHERS_APPLIED_WITHIN = 20
# Clock slack between the client's and the API's readings of the same wall clock.
SLACK = 0.05


@dataclass(frozen=True)
class EventRow:
    event_id: str
    seq: int
    type: str
    status: str
    reason: str | None
    account: str
    counterparty: str | None
    amount: int
    currency: str
    reference: str
    business_date: dt.date
    created_at: dt.datetime
    processed_at: dt.datetime | None

    @property
    def apply_order(self) -> tuple:
        return (self.processed_at, self.seq)


@dataclass(frozen=True)
class AccountRow:
    id: str
    kind: str
    currency: str
    balance: int
    daily_limit: int
    status: str
    closed_at: dt.datetime | None


@dataclass
class Snapshot:
    """What the system holds after the drain."""

    events: dict[str, EventRow]
    accounts: dict[str, AccountRow]
    entries: list[tuple[str, str, int, int | None]]  # transaction (event) id, account, amount, balance_after
    outbox: int
    parked: list[tuple]
    queues: dict[str, int]
    reconcile_exit: int
    reconcile_output: str


@dataclass
class Facts:
    """What happened during the run, apart from the data."""

    drained: bool
    drain_seconds: float
    drain_bound: float
    unexpected_worker_exits: list[str]
    sigterm_exit_codes: list[int | None]
    refused: dict = field(default_factory=dict)
    parks_seen: set[tuple[str, str]] = field(default_factory=set)  # (account, event) ever parked


@dataclass
class CheckResult:
    name: str
    passed: bool
    details: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def verdict(self) -> str:
        return "skipped" if self.skipped else "PASS" if self.passed else "FAIL"


def _result(name: str, problems: list[str], limit: int = 8) -> CheckResult:
    details = problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])
    return CheckResult(name, not problems, details)


class Checker:
    def __init__(self, operations: list[Operation], snapshot: Snapshot, facts: Facts) -> None:
        self.ops = operations
        self.snap = snapshot
        self.facts = facts
        self.by_reference = {op.reference: op for op in operations}
        self.events_of: dict[str, list[EventRow]] = defaultdict(list)
        self.strangers: list[EventRow] = []
        for event in snapshot.events.values():
            op = self.by_reference.get(event.reference)
            (self.events_of[op.reference] if op else self.strangers).append(event)

    def run(self) -> list[CheckResult]:
        return [
            self.balances_within_bounds(),
            self.money_conserved(),
            self.every_accepted_event_final_once(),
            self.own_events_in_order(),
            self.daily_limits_kept(),
            self.refusals_and_outages_stop_nothing(),
            self.refused_event_recovered(),
            self.service_unavailable_moved_nothing(),
            self.refusals_left_nothing(),
            self.model_agrees(),
            self.reconcile_finds_nothing(),
            self.one_event_per_idempotency_key(),
            self.drained_in_time(),
        ]

    # Invariant 1
    def balances_within_bounds(self) -> CheckResult:
        problems = []
        customers = {a.id: a for a in self.snap.accounts.values() if a.kind == "customer"}
        for account in customers.values():
            ceiling = ModelAccount(account.id, account.currency, account.daily_limit).ceiling
            if not 0 <= account.balance <= ceiling:
                problems.append(f"account {account.id} balance {account.balance}")
        for event_id, account_id, _, after in self.snap.entries:
            if account_id in customers and after is not None:
                ceiling = ModelAccount(account_id, customers[account_id].currency, 0).ceiling
                if not 0 <= after <= ceiling:
                    problems.append(f"entry of {event_id} left {account_id} at {after}")
        return _result("1 balances never negative, never past 10^15", problems)

    # Invariant 2
    def money_conserved(self) -> CheckResult:
        problems = []
        sums: Counter = Counter()
        for event_id, _, amount, _ in self.snap.entries:
            sums[event_id] += amount
        problems += [f"journal transaction {t} sums to {s}" for t, s in sums.items() if s]
        held: Counter = Counter()
        flows: Counter = Counter()
        for account in self.snap.accounts.values():
            if account.kind == "customer":
                held[account.currency] += account.balance
        for event in self.snap.events.values():
            if event.status == "completed" and event.type != "transfer":
                flows[event.currency] += event.amount if event.type == "deposit" else -event.amount
        for currency in set(held) | set(flows):
            if held[currency] != flows[currency]:
                problems.append(
                    f"{currency}: balances {held[currency]}, deposits - withdrawals {flows[currency]}"
                )
        return _result("2 money conserved per currency", problems)

    # Invariant 3
    def every_accepted_event_final_once(self) -> CheckResult:
        problems = []
        entries: Counter = Counter(e[0] for e in self.snap.entries)
        for op in self.ops:
            if op.event_id and op.event_id not in self.snap.events:
                problems.append(f"op {op.index}: accepted event {op.event_id} does not exist")
        for event in self.snap.events.values():
            expected = {"completed": 2, "rejected": 0}.get(event.status)
            if expected is None:
                problems.append(
                    f"event {event.event_id} ({event.type} {event.reference}) still {event.status}"
                )
            elif entries[event.event_id] != expected:
                problems.append(
                    f"{event.status} event {event.event_id} has {entries[event.event_id]} entries"
                )
        problems += [
            f"journal entries of {t}, which is no event" for t in set(entries) - set(self.snap.events)
        ]
        problems += [f"event {e.event_id} ({e.reference!r}) answers no request" for e in self.strangers]
        return _result("3 every accepted event final exactly once", problems)

    # Invariant 4: if A's acceptance was known before B was sent (both sent by one account), A applies first.
    def own_events_in_order(self) -> CheckResult:
        problems = []
        per_sender: dict[str, list[tuple[Operation, EventRow]]] = defaultdict(list)
        for op in self.ops:
            for event in self.events_of.get(op.reference, []):
                if event.processed_at is not None:
                    per_sender[event.account].append((op, event))
        for sender, pairs in per_sender.items():
            known = sorted(
                (op.known_at, event.apply_order, event.event_id) for op, event in pairs if op.known_at
            )
            known_times = [k[0] for k in known]
            latest: list[tuple] = []  # running maximum of apply order, with its event
            for item in known:
                latest.append(max(latest[-1], (item[1], item[2])) if latest else (item[1], item[2]))
            for op, event in pairs:
                sent = self._earliest_creator_sent(op, event)
                before = bisect.bisect_left(known_times, sent)
                if before and latest[before - 1][0] > event.apply_order:
                    problems.append(
                        f"account {sender}: {event.event_id} ({event.type}) applied before"
                        f" {latest[before - 1][1]}, whose 202 came before it was sent"
                    )
        return _result("4 each account's own events applied in acceptance order", problems)

    # Invariant 5
    def daily_limits_kept(self) -> CheckResult:
        used: Counter = Counter()
        for event in self.snap.events.values():
            if event.status == "completed" and event.type in ("withdrawal", "transfer"):
                used[(event.account, event.business_date)] += event.amount
        problems = [
            f"account {account} on {day}: {amount} out, limit {self.snap.accounts[account].daily_limit}"
            for (account, day), amount in used.items()
            if amount > self.snap.accounts[account].daily_limit
        ]
        return _result("5 completed outgoing money per day within the limit", problems)

    # Invariant 6
    def refusals_and_outages_stop_nothing(self) -> CheckResult:
        problems = []
        dead = self.snap.queues.get(DEAD_LETTER_QUEUE, 0)
        if dead:
            problems.append(f"{dead} message(s) in {DEAD_LETTER_QUEUE}")
        if self.snap.outbox:
            problems.append(f"{self.snap.outbox} outbox message(s) never relayed")
        problems += [f"worker died by itself: {exit}" for exit in self.facts.unexpected_worker_exits]
        problems += [
            f"a worker sent SIGTERM exited {code}" for code in self.facts.sigterm_exit_codes if code != 0
        ]
        problems += [f"account still parked: {row}" for row in self.snap.parked]
        # Only the refused event may park its account: a database-wide failure must not park anyone.
        refused = self.facts.refused.get("event_id")
        others = sorted(event for _, event in self.facts.parks_seen if event != refused)
        if others:
            problems.append(
                f"{len(others)} account(s) parked for other events than the refused one: {others[0]}"
            )
        return _result("6 no dead letters, no worker death, nothing parked", problems)

    def refused_event_recovered(self) -> CheckResult:
        """The refused event waited (and `stuck` named it), its account's later events waited behind
        it, and other accounts' events went on meanwhile."""
        name = "6 the refused event: held, then applied first"
        refused = self.facts.refused
        if not refused:
            return CheckResult(name, True, ["not planned in this run"], skipped=True)
        if not refused.get("event_id"):
            return CheckResult(name, False, [f"could not be injected: {refused.get('error')}"])
        problems = [refused["error"]] if refused.get("error") else []
        if refused["event_id"] not in refused.get("stuck", ""):
            problems.append("manage.py stuck did not name it")
        installed = dt.datetime.fromtimestamp(refused["installed_at"], dt.UTC)
        lifted = dt.datetime.fromtimestamp(refused["lifted_at"], dt.UTC)
        event = self.snap.events.get(refused["event_id"])
        if event is None or event.processed_at is None:
            problems.append(f"refused event {refused['event_id']} is not final")
        else:
            if event.processed_at < lifted:
                problems.append("the event was applied while PostgreSQL refused it")
            problems += [
                f"{e.event_id}, accepted after it, applied before it"
                for e in self.snap.events.values()
                if e.account == event.account
                and e.seq > event.seq
                and e.processed_at is not None
                and e.apply_order < event.apply_order
            ]
        # Other accounts go on: what they sent early in the park is applied before the park is lifted.
        early = lifted - dt.timedelta(seconds=OTHERS_APPLIED_WITHIN)
        held = [
            e.event_id
            for e in self.snap.events.values()
            if e.account != refused["account"]
            and installed <= e.created_at < early
            and (e.processed_at is None or e.processed_at > lifted)
        ]
        if held:
            problems.append(f"{len(held)} event(s) of other accounts waited for the park, e.g. {held[0]}")
        return _result(name, problems)

    # Invariant 7, and the same for refusals: who was told "nothing happened" must find nothing happened.
    def service_unavailable_moved_nothing(self) -> CheckResult:
        return _result(
            "7 no 503 service_unavailable request left an event",
            self._events_behind(lambda a: a.code == NOTHING_COMMITTED),
        )

    def refusals_left_nothing(self) -> CheckResult:
        return _result(
            "  no refused (4xx) request left an event",
            self._events_behind(lambda a: a.status is not None and 400 <= a.status < 500),
        )

    def _events_behind(self, told_nothing) -> list[str]:
        problems = []
        for op in self.ops:
            for event in self.events_of.get(op.reference, []):
                creators = self._possible_creators(op, event)
                if creators and all(told_nothing(a) for a in creators):
                    answer = ", ".join(f"{a.status} {a.code}" for a in creators)
                    problems.append(
                        f"op {op.index} ({op.kind}, {'keyed' if op.key else 'no key'}): answered {answer},"
                        f" yet event {event.event_id} exists ({event.status})"
                    )
        return problems

    @staticmethod
    def _possible_creators(op: Operation, event: EventRow) -> list[Attempt]:
        """The attempts that may have committed the event: sent before it was created, and not
        answered before it was created."""
        created = event.created_at.timestamp()
        return [
            a
            for a in op.attempts
            if a.sent - SLACK <= created and (a.status is None or a.answered + SLACK >= created)
        ]

    def _earliest_creator_sent(self, op: Operation, event: EventRow) -> float:
        creators = self._possible_creators(op, event)
        return min(a.sent for a in creators) if creators else op.attempts[0].sent

    def model_agrees(self) -> CheckResult:
        accounts = {
            a.id: ModelAccount(a.id, a.currency, a.daily_limit, a.closed_at)
            for a in self.snap.accounts.values()
            if a.kind == "customer"
        }
        final = sorted((e for e in self.snap.events.values() if e.processed_at), key=lambda e: e.apply_order)
        result = replay(
            (
                ModelEvent(
                    e.event_id, e.type, e.account, e.counterparty, e.amount, e.business_date, e.processed_at
                )
                for e in final
            ),
            accounts,
        )
        problems = []
        for event in final:
            verdict = result.verdicts[event.event_id]
            if (verdict.status, verdict.reason) != (event.status, event.reason):
                problems.append(
                    f"{event.type} {event.event_id}: model {verdict.status} {verdict.reason or ''},"
                    f" database {event.status} {event.reason or ''}"
                )
        for account in accounts:
            expected, actual = result.balances.get(account, 0), self.snap.accounts[account].balance
            if expected != actual:
                problems.append(f"account {account}: model balance {expected}, database {actual}")
        return _result("  a pure model replaying the apply order agrees", problems)

    def reconcile_finds_nothing(self) -> CheckResult:
        problems = [] if self.snap.reconcile_exit == 0 else self.snap.reconcile_output.strip().splitlines()
        return _result("  manage.py reconcile finds nothing", problems, limit=12)

    def one_event_per_idempotency_key(self) -> CheckResult:
        problems = []
        for op in self.ops:
            if op.key is None:
                continue
            events = self.events_of.get(op.reference, [])
            if len(events) > 1:
                problems.append(f"key {op.key}: {len(events)} events")
            named = {a.event_id for a in op.attempts if a.status == 202} | set(op.replayed_ids)
            if len(named) > 1:
                problems.append(f"key {op.key}: answers named {sorted(named)}")
        return _result("  one Idempotency-Key, at most one event", problems)

    def drained_in_time(self) -> CheckResult:
        facts = self.facts
        problems = [] if facts.drained else [f"still pending after {facts.drain_bound:.0f} s"]
        return _result(f"  the backlog drained within {facts.drain_bound:.0f} s", problems)
