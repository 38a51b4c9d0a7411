"""The campaign's judge, judged: the model and the checker on planted histories, without any server."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.faults.checks import AccountRow, Checker, EventRow, Facts, Snapshot
from tests.faults.driver import Attempt, Operation
from tests.faults.model import ModelAccount, ModelEvent, Verdict, replay

DAY = dt.date(2026, 1, 5)
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _event(number: int, type_: str, account: str, amount: int, counterparty: str | None = None) -> ModelEvent:
    return ModelEvent(f"e{number}", type_, account, counterparty, amount, DAY, _at(number))


def test_the_model_applies_the_rules_in_their_order():
    accounts = {
        "a": ModelAccount("a", "KRW", daily_limit=100),
        "b": ModelAccount("b", "KRW", daily_limit=10**9),
        "shut": ModelAccount("shut", "KRW", daily_limit=100, closed_at=_at(0)),
    }
    events = [
        _event(1, "deposit", "a", 150),
        _event(2, "withdrawal", "a", 200),  # more than the balance
        _event(3, "withdrawal", "a", 80),
        _event(4, "transfer", "a", 30, "b"),  # 80 + 30 out today, over 100
        _event(5, "deposit", "b", 10**15),
        _event(6, "transfer", "a", 10, "b"),  # b would pass 10^15
        _event(7, "transfer", "a", 500, "shut"),  # closed comes before insufficient funds
    ]

    result = replay(events, accounts)

    assert [result.verdicts[e.id] for e in events] == [
        Verdict("completed"),
        Verdict("rejected", "insufficient_funds"),
        Verdict("completed"),
        Verdict("rejected", "daily_limit_exceeded"),
        Verdict("completed"),
        Verdict("rejected", "balance_limit_exceeded"),
        Verdict("rejected", "account_closed"),
    ]
    assert result.balances == {"a": 70, "b": 10**15}


class History:
    """A planted run: operations as the clients saw them, events as the database holds them."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self.events: dict[str, EventRow] = {}
        self.account = str(uuid.uuid4())

    def withdrawal(
        self,
        *answers: tuple[float, float, int | None, str | None],
        applied: float,
        created: float | None = None,
    ) -> None:
        """An operation whose attempts were (sent, answered, status, code), and its event, created at
        `created` (default: amid the first attempt) and applied at `applied`."""
        op = Operation(
            len(self.ops), "withdrawal", "u", self.account, None, "10", f"ref-{len(self.ops)}", None
        )
        for sent, answered, status, code in answers:
            op.attempts.append(Attempt(T0.timestamp() + sent, T0.timestamp() + answered, False, status, code))
        self.ops.append(op)
        event_id = str(uuid.uuid4())
        if answers[-1][2] == 202:
            op.event_id, op.known_at = event_id, op.attempts[-1].answered
        if created is None:
            created = (answers[0][0] + answers[0][1]) / 2
        self.events[event_id] = EventRow(
            event_id=event_id,
            seq=len(self.events) + 1,
            type="withdrawal",
            status="completed",
            reason=None,
            account=self.account,
            counterparty=None,
            amount=10,
            currency="KRW",
            reference=op.reference,
            business_date=DAY,
            created_at=_at(created),
            processed_at=_at(applied),
        )

    def check(self, name: str) -> list[str]:
        snapshot = Snapshot(
            events=self.events,
            accounts={self.account: AccountRow(self.account, "customer", "KRW", 0, 10**6, "active", None)},
            entries=[],
            outbox=0,
            parked=[],
            queues={},
            reconcile_exit=0,
            reconcile_output="",
        )
        facts = Facts(True, 0.0, 60.0, [], [])
        (result,) = [c for c in Checker(self.ops, snapshot, facts).run() if c.name.endswith(name)]
        return result.details


def test_a_503_service_unavailable_whose_request_committed_is_caught():
    history = History()
    history.withdrawal((0, 1, 503, "service_unavailable"), applied=2)

    assert len(history.check("no 503 service_unavailable request left an event")) == 1


def test_an_event_behind_a_lost_answer_or_a_later_retry_is_no_lie():
    history = History()
    history.withdrawal((0, 12, None, None), applied=13)  # no answer: it may have committed
    # The first attempt's request was still queued when the retry was answered 503, and committed later.
    history.withdrawal((20, 32, None, None), (33, 33.5, 503, "service_unavailable"), applied=40, created=35)

    assert history.check("no 503 service_unavailable request left an event") == []


def test_an_event_applied_before_an_earlier_accepted_one_of_its_account_is_caught():
    history = History()
    history.withdrawal((0, 1, 202, None), applied=10)
    history.withdrawal((2, 3, 202, None), applied=5)  # sent after the first's 202, applied before it

    assert len(history.check("each account's own events applied in acceptance order")) == 1


def test_requests_that_overlap_may_be_applied_in_either_order():
    history = History()
    history.withdrawal((0, 3, 202, None), applied=10)
    history.withdrawal((2, 4, 202, None), applied=5)  # sent before the first was answered

    assert history.check("each account's own events applied in acceptance order") == []
