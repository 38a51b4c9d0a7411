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

    after = _retry_while_unavailable(lambda: alice.withdraw(account["id"], "1000"))

    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "service_unavailable")
    assert readiness.status_code == 503
    assert readiness.json()["dependencies"]["postgresql"] == "down"
    assert after.status_code == 202
    assert _final_status(alice, after.json()["event_id"]) == "completed"
    assert alice.account(account["id"])["balance"] == "9000"
    events = alice.get(f"/api/v1/accounts/{account['id']}/events").json()
    assert [e["type"] for e in events["results"]] == ["withdrawal", "deposit"]


def _retry_while_unavailable(request, timeout: float = 30):
    """What a client does with 503: nothing happened, so try again (a pooled connection that died
    with the server fails one request before it is replaced)."""
    deadline = time.monotonic() + timeout
    while (response := request()).status_code == 503:
        assert time.monotonic() < deadline, "the API did not recover"
        time.sleep(0.2)
    return response
