"""PostgreSQL down: the API accepts nothing (503), and everything works again once it is back."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.servers import postgresql_stopped


def _final_status(user, event_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = user.get(f"/api/v1/events/{event_id}")
        if response.status_code == 200 and response.json()["status"] != "pending":
            return response.json()["status"]
        time.sleep(0.1)
    raise AssertionError(f"event {event_id} not final after {timeout}s")


@pytest.mark.restarts_postgresql
def test_with_postgresql_down_requests_get_503_and_nothing_happens(new_user, system):
    alice = new_user()
    account = alice.open_account("KRW")
    _final_status(alice, alice.deposit(account["id"], "10000").json()["event_id"])

    with postgresql_stopped():
        refused = alice.withdraw(account["id"], "1000")
        readiness = requests.get(f"{system.base_url}/readyz", timeout=10)

    deadline = time.monotonic() + 30
    while requests.get(f"{system.base_url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover"
        time.sleep(0.2)
    after = alice.withdraw(account["id"], "1000")

    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "service_unavailable")
    assert readiness.status_code == 503
    assert readiness.json()["dependencies"]["postgresql"] == "down"
    assert after.status_code == 202
    assert _final_status(alice, after.json()["event_id"]) == "completed"
    assert alice.account(account["id"])["balance"] == "9000"
