"""Admission control on the running system: trips with the worker stopped, clears once the backlog drains."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from ledger.reconciliation import reconcile
from tests.e2e.conftest import RunningSystem
from tests.support.api import ApiUser, wait_until_final
from tests.support.processes import api_process, wait_until_ready
from transfers.models import Event

MAX_LAG = 2


@pytest.fixture
def strict_api(system: RunningSystem, tmp_path) -> Iterator[str]:
    """A second API on the same database and broker that allows events to wait only MAX_LAG seconds."""
    api, base_url = api_process({**system.env, "ACCEPT_MAX_LAG_SECONDS": str(MAX_LAG)}, tmp_path)
    api.start()
    try:
        wait_until_ready(base_url, api)
        yield base_url
    finally:
        api.stop()


def _assert_overloaded(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "overloaded"
    assert 1 <= int(response.headers["Retry-After"]) <= MAX_LAG


def test_movements_are_refused_while_the_worker_is_stopped_and_accepted_once_it_caught_up(
    restartable_worker: RunningSystem, strict_api: str, oidc_issuer
):
    system = restartable_worker
    alice = ApiUser(strict_api, oidc_issuer.token(f"user-{uuid.uuid4()}"))
    bob = ApiUser(strict_api, oidc_issuer.token(f"user-{uuid.uuid4()}"))
    account, other = alice.open_account("KRW")["id"], bob.open_account("KRW")["id"]
    wait_until_final([alice.deposit(account, "100000").json()["event_id"]])

    system.worker.stop()
    stopped_at = time.monotonic()
    accepted = []
    while (response := alice.deposit(account, "100")).status_code == 202:
        accepted.append(response.json()["event_id"])
        assert time.monotonic() - stopped_at < MAX_LAG + 10, "movements still accepted"
        time.sleep(0.1)
    tripped_after = time.monotonic() - stopped_at
    events_before = Event.objects.filter(account_id=account).count()
    also_refused = [alice.withdraw(account, "100"), alice.transfer(account, other, "100")]

    # The first event waited past the bound, seen within the second the API's view may lag.
    assert MAX_LAG < tripped_after < MAX_LAG + 5
    for refused in (response, *also_refused):
        _assert_overloaded(refused)
    assert Event.objects.filter(account_id=account).count() == events_before
    assert alice.get(f"/api/v1/accounts/{account}").status_code == 200
    assert alice.get("/api/v1/accounts").status_code == 200
    waiting = alice.get(f"/api/v1/events/{accepted[0]}")
    assert (waiting.status_code, waiting.json()["status"]) == (200, "pending")

    system.worker.start()
    wait_until_final(accepted)
    drained_at = time.monotonic()
    while (response := alice.deposit(account, "100")).status_code == 429:
        assert time.monotonic() - drained_at < 5, "still refused after the backlog drained"
        time.sleep(0.1)
    assert response.status_code == 202, response.text
    again = [response, alice.withdraw(account, "100"), alice.transfer(account, other, "100")]

    assert [r.status_code for r in again] == [202, 202, 202]
    final = wait_until_final([r.json()["event_id"] for r in again])
    assert {e.status for e in final.values()} == {"completed"}
    assert reconcile() == []
