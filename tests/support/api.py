"""A small HTTP client for end-to-end tests: a user with a token, calling the running API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import requests

from transfers.models import Event


class ApiUser:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", timeout=30, **kwargs)

    def post(self, path: str, body: object = None, **kwargs) -> requests.Response:
        return self.session.post(f"{self.base_url}{path}", json=body, timeout=30, **kwargs)

    def open_account(self, currency: str = "KRW", **extra) -> dict:
        response = self.post("/api/v1/accounts", {"currency": currency, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    def account(self, account_id: str) -> dict:
        response = self.get(f"/api/v1/accounts/{account_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def deposit(self, account_id: str, amount: str, **headers) -> requests.Response:
        return self.post(f"/api/v1/accounts/{account_id}/deposits", {"amount": amount}, headers=headers)

    def withdraw(self, account_id: str, amount: str, **headers) -> requests.Response:
        return self.post(f"/api/v1/accounts/{account_id}/withdrawals", {"amount": amount}, headers=headers)

    def transfer(self, source: str, target: str, amount: str, **extra) -> requests.Response:
        body = {"from_account": source, "to_account": target, "amount": amount, **extra}
        return self.post("/api/v1/transfers", body)


def wait_until_final(event_ids: Iterable[str], timeout: float = 60) -> dict[str, Event]:
    """Wait until every event is completed or rejected; return them by id."""
    ids = [uuid.UUID(str(e)) for e in event_ids]
    deadline = time.monotonic() + timeout
    while True:
        events = {str(e.event_id): e for e in Event.objects.filter(event_id__in=ids)}
        if len(events) == len(ids) and all(e.status != "pending" for e in events.values()):
            return events
        if time.monotonic() > deadline:
            pending = [i for i, e in events.items() if e.status == "pending"]
            raise AssertionError(f"{len(pending)} of {len(ids)} events still pending after {timeout}s")
        time.sleep(0.05)
