"""Shared helpers for the API contract tests: a customer's client, error checks and bank-state snapshots."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import Account
from config import bootstrap
from ledger.models import Entry
from messaging.models import OutboxMessage
from transfers import services
from transfers.models import Event, IdempotencyRecord, LimitUsage

ACCOUNT_FIELDS = {
    "id",
    "currency",
    "balance",
    "available_balance",
    "daily_limit",
    "used_today",
    "pending_today",
    "remaining_today",
    "status",
    "created_at",
}


@dataclass
class Customer:
    """A user of the API, calling it in process with a bearer token of their own."""

    sub: str
    client: APIClient

    def get(self, path: str, **params: object) -> Response:
        return self.client.get(path, params)

    def post(self, path: str, body: object = None, *, key: str | None = None) -> Response:
        headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        return self.client.post(path, body, format="json", **headers)

    def open_account(self, currency: str = "KRW", **extra: object) -> dict:
        response = self.post("/api/v1/accounts", {"currency": currency, **extra})
        assert response.status_code == 201, response.content
        return response.json()

    def account(self, account_id: str) -> dict:
        response = self.get(f"/api/v1/accounts/{account_id}")
        assert response.status_code == 200, response.content
        return response.json()

    def deposit(
        self, account_id: str, amount: object, *, key: str | None = None, **extra: object
    ) -> Response:
        return self.post(f"/api/v1/accounts/{account_id}/deposits", {"amount": amount, **extra}, key=key)

    def withdraw(
        self, account_id: str, amount: object, *, key: str | None = None, **extra: object
    ) -> Response:
        return self.post(f"/api/v1/accounts/{account_id}/withdrawals", {"amount": amount, **extra}, key=key)

    def transfer(
        self, source: str, target: str, amount: object, *, key: str | None = None, **extra: object
    ) -> Response:
        body = {"from_account": source, "to_account": target, "amount": amount, **extra}
        return self.post("/api/v1/transfers", body, key=key)

    def close(self, account_id: str) -> Response:
        return self.post(f"/api/v1/accounts/{account_id}/close")

    def funded_account(self, currency: str = "KRW", amount: str = "100000", **extra: object) -> dict:
        """An account holding `amount`, its deposit applied."""
        account = self.open_account(currency, **extra)
        assert self.deposit(account["id"], amount).status_code == 202
        apply_pending()
        return self.account(account["id"])


def apply_pending() -> services.AppliedBatch | None:
    """What the worker would do: apply every pending event, in acceptance order."""
    event_ids = list(Event.objects.filter(status="pending").values_list("event_id", flat=True))
    if not event_ids:
        return None
    return services.apply_events(
        event_ids=event_ids, ledger=bootstrap.ledger_store(), cache=bootstrap.limit_cache()
    )


def assert_error(response: Response, status: int, code: str, *, fields: set[str] | None = None) -> dict:
    """The contract's error shape `{"error": {"code", "message", "fields"?}}` with this status and code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str)
    assert error["message"]
    assert set(error) <= {"code", "message", "fields"}, body
    if fields is not None:
        assert set(error["fields"]) == fields, body
    return error


def bank_state() -> dict:
    """Everything a refused request must leave as it was: events, outbox, journal, balances, limits, keys."""
    return {
        "events": sorted(str(e) for e in Event.objects.values_list("event_id", flat=True)),
        "outbox": OutboxMessage.objects.count(),
        "entries": Entry.objects.count(),
        "idempotency_keys": IdempotencyRecord.objects.count(),
        "accounts": sorted(
            (str(a["id"]), a["balance"], a["status"], a["daily_limit"])
            for a in Account.objects.values("id", "balance", "status", "daily_limit")
        ),
        "limit_usage": sorted(
            (str(u["account_id"]), u["business_date"].isoformat(), u["used"], u["pending"])
            for u in LimitUsage.objects.values("account_id", "business_date", "used", "pending")
        ),
    }


def events_of(account_id: str) -> list[Event]:
    return list(Event.objects.filter(account_id=account_id).order_by("seq"))


def new_key() -> str:
    return f"key-{uuid.uuid4()}"
