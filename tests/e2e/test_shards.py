"""Several shards, one worker each: transfers cross shards, and every invariant still holds."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.reconciliation import reconcile
from messaging.schema import shard_of
from tests.conftest import NAMESPACE
from tests.e2e.conftest import running_system
from tests.support.api import ApiUser, wait_until_final

SHARDS_VHOST = f"remit_e2e_shards{NAMESPACE}"


@pytest.fixture(scope="module", params=[2, 4], ids=["2-shards", "4-shards"])
def sharded(request, django_db_setup, oidc_issuer, tmp_path_factory):
    logs = tmp_path_factory.mktemp(f"shards-{request.param}")
    with running_system(oidc_issuer, logs, shards=request.param, vhost=SHARDS_VHOST) as running:
        yield running, request.param


def test_concurrent_transfers_across_shards_keep_every_invariant(sharded, oidc_issuer):
    system, shards = sharded
    users = [ApiUser(system.base_url, oidc_issuer.token(f"shard-user-{uuid.uuid4()}")) for _ in range(4)]
    accounts = [(user, user.open_account("KRW")["id"]) for user in users for _ in range(4)]
    wait_until_final([user.deposit(account, "100000").json()["event_id"] for user, account in accounts])
    assert len({shard_of(uuid.UUID(a), shards) for _, a in accounts}) > 1

    def move(seed: int) -> list[str]:
        rng, accepted = random.Random(seed), []
        for _ in range(25):
            (user, source), (_, target) = rng.sample(accounts, 2)
            amount = str(rng.randrange(1000, 40000, 1000))
            response = (
                user.transfer(source, target, amount) if rng.random() < 0.7 else user.withdraw(source, amount)
            )
            assert response.status_code == 202, response.text
            accepted.append(response.json()["event_id"])
        return accepted

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = [event for batch in pool.map(move, range(8)) for event in batch]
    events = wait_until_final(accepted)

    assert len(events) == 200
    assert {e.status for e in events.values()} <= {"completed", "rejected"}
    assert {e.reason for e in events.values() if e.status == "rejected"} <= {"insufficient_funds"}
    assert reconcile() == []
    assert all("deadlock" not in worker.log() for worker in system.workers)


def test_each_account_keeps_its_order_on_every_shard(sharded, oidc_issuer):
    system, _ = sharded
    user = ApiUser(system.base_url, oidc_issuer.token(f"shard-user-{uuid.uuid4()}"))
    accounts = [user.open_account("USD")["id"] for _ in range(6)]

    event_ids = []
    for _ in range(10):
        for account in accounts:
            event_ids.append(user.deposit(account, "3.50").json()["event_id"])
            event_ids.append(user.withdraw(account, "3.50").json()["event_id"])
    events = wait_until_final(event_ids)

    assert {e.status for e in events.values()} == {"completed"}
    assert {user.account(a)["balance"] for a in accounts} == {"0.00"}


def test_events_accepted_under_two_shards_are_applied_in_order_under_four(
    django_db_setup, oidc_issuer, tmp_path_factory
):
    logs = tmp_path_factory.mktemp("resharding")
    with running_system(oidc_issuer, logs, shards=2, vhost=SHARDS_VHOST) as before:
        for worker in before.workers:
            worker.stop()  # nothing relays or applies: the events wait in the outbox
        user = ApiUser(before.base_url, oidc_issuer.token(f"reshard-user-{uuid.uuid4()}"))
        accounts = [user.open_account("KRW")["id"] for _ in range(6)]
        event_ids = []
        for account in accounts:
            for _ in range(5):
                event_ids.append(user.deposit(account, "1000").json()["event_id"])
                event_ids.append(user.withdraw(account, "1000").json()["event_id"])

    with running_system(oidc_issuer, logs, shards=4, vhost=SHARDS_VHOST) as after:
        events = wait_until_final(event_ids)
        user.base_url = after.base_url
        balances = {user.account(a)["balance"] for a in accounts}

    assert {e.status for e in events.values()} == {"completed"}
    assert balances == {"0"}
