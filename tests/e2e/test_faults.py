"""Faults injected into the running system: every accepted event still ends final exactly once."""

from __future__ import annotations

import random
import threading
import time

import requests

from ledger.reconciliation import reconcile
from tests.support.api import wait_until_final
from tests.support.servers import rabbitmq_stopped, redis_hanging, redis_stopped
from transfers.models import Event


def _funded_accounts(user, count: int, amount: str) -> list[str]:
    accounts = [user.open_account("KRW")["id"] for _ in range(count)]
    wait_until_final([user.deposit(a, amount).json()["event_id"] for a in accounts])
    return accounts


def _random_movements(user, accounts: list[str], count: int, accepted: list[str]) -> None:
    rng = random.Random(7)
    for _ in range(count):
        source, target = rng.sample(accounts, 2)
        amount = str(rng.randrange(1000, 30000, 1000))
        kind = rng.random()
        if kind < 0.5:
            response = user.transfer(source, target, amount)
        elif kind < 0.8:
            response = user.withdraw(source, amount)
        else:
            response = user.deposit(source, amount)
        assert response.status_code == 202, response.text
        accepted.append(response.json()["event_id"])


def test_a_worker_killed_mid_stream_and_restarted_applies_every_event_exactly_once(
    new_user, restartable_worker
):
    alice = new_user()
    accounts = _funded_accounts(alice, 6, "200000")
    accepted: list[str] = []
    load = threading.Thread(target=_random_movements, args=(alice, accounts, 300, accepted))

    load.start()
    while Event.objects.filter(event_id__in=list(accepted), status="completed").count() < 60:
        time.sleep(0.01)
    restartable_worker.worker.kill()
    time.sleep(0.5)
    restartable_worker.worker.start()
    load.join()
    events = wait_until_final(accepted)

    assert len(events) == 300
    assert {e.status for e in events.values()} <= {"completed", "rejected"}
    assert reconcile() == []


def test_sigterm_lets_the_worker_finish_and_exit_0_and_nothing_is_lost(new_user, restartable_worker):
    alice = new_user()
    (account,) = _funded_accounts(alice, 1, "50000")
    first = [alice.withdraw(account, "1000").json()["event_id"] for _ in range(20)]

    exit_code = restartable_worker.worker.terminate()
    while_down = [alice.withdraw(account, "1000").json()["event_id"] for _ in range(5)]
    restartable_worker.worker.start()
    events = wait_until_final(first + while_down)

    assert exit_code == 0
    assert {e.status for e in events.values()} == {"completed"}
    assert alice.account(account)["balance"] == "25000"


def test_with_redis_stopped_requests_are_answered_applied_and_limited_from_postgresql(new_user, system):
    alice = new_user()
    account = alice.open_account("KRW", daily_limit="100000")
    wait_until_final([alice.deposit(account["id"], "500000").json()["event_id"]])

    with redis_stopped():
        readiness = requests.get(f"{system.base_url}/readyz", timeout=5).json()
        accepted = [alice.withdraw(account["id"], "40000") for _ in range(2)]
        refused = alice.withdraw(account["id"], "40000")
        events = wait_until_final([r.json()["event_id"] for r in accepted])
        view = alice.account(account["id"])

    assert readiness["status"] == "degraded"
    assert readiness["dependencies"]["redis"] == "down"
    assert [r.status_code for r in accepted] == [202, 202]
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "daily_limit_exceeded")
    assert {e.status for e in events.values()} == {"completed"}
    assert (view["balance"], view["used_today"], view["remaining_today"]) == ("420000", "80000", "20000")


def test_with_redis_hanging_requests_are_answered_applied_and_limited(new_user, system):
    alice = new_user()
    account = alice.open_account("KRW", daily_limit="100000")
    wait_until_final([alice.deposit(account["id"], "500000").json()["event_id"]])
    alice.account(account["id"])

    with redis_hanging():
        readiness = requests.get(f"{system.base_url}/readyz", timeout=5).json()
        accepted = [alice.withdraw(account["id"], "40000") for _ in range(2)]
        refused = alice.withdraw(account["id"], "40000")
        events = wait_until_final([r.json()["event_id"] for r in accepted])

    assert readiness["dependencies"]["redis"] == "down"
    assert [r.status_code for r in accepted] == [202, 202]
    assert refused.status_code == 422
    assert {e.status for e in events.values()} == {"completed"}
    after = alice.withdraw(account["id"], "20000")
    over = alice.withdraw(account["id"], "1")
    wait_until_final([after.json()["event_id"]])
    assert (after.status_code, over.status_code) == (202, 422)
    assert alice.account(account["id"])["remaining_today"] == "0"


def test_events_accepted_while_rabbitmq_is_down_complete_once_it_is_back(new_user, system):
    alice = new_user()
    (account,) = _funded_accounts(alice, 1, "10000")

    with rabbitmq_stopped():
        during = [alice.withdraw(account, "1000") for _ in range(5)]
    events = wait_until_final([r.json()["event_id"] for r in during], timeout=90)

    assert [r.status_code for r in during] == [202] * 5
    assert {e.status for e in events.values()} == {"completed"}
    assert alice.account(account)["balance"] == "5000"
