"""Browsers on the allowed origins may call the API: preflights without a token, headers exposed."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:5173"


def _preflight(origin: str, path: str = "/api/v1/transfers", method: str = "POST"):
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key, prefer",
    )


def _listed(value: str) -> set[str]:
    return {h.strip().lower() for h in value.split(",")}


def test_the_dev_frontend_is_an_allowed_origin() -> None:
    assert ORIGIN in settings.CORS_ALLOWED_ORIGINS


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token() -> None:
    response = _preflight(ORIGIN)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert _listed(response["Access-Control-Allow-Headers"]) == {
        "authorization",
        "content-type",
        "idempotency-key",
        "if-none-match",
        "prefer",
        "x-request-id",
    }


def test_a_preflight_from_another_origin_is_not_allowed() -> None:
    response = _preflight("https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_an_accepted_movement_exposes_its_headers_to_scripts(alice) -> None:
    account = alice.open_account("KRW")

    response = alice.client.post(
        f"/api/v1/accounts/{account['id']}/deposits", {"amount": "5000"}, format="json", HTTP_ORIGIN=ORIGIN
    )

    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert _listed(response["Access-Control-Expose-Headers"]) == {
        "location",
        "retry-after",
        "preference-applied",
        "etag",
        "x-request-id",
    }


def test_an_error_without_a_token_is_readable_by_the_allowed_origin() -> None:
    response = APIClient().get("/api/v1/accounts", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_pages_outside_the_api_send_no_cors_headers() -> None:
    response = APIClient().get("/healthz", HTTP_ORIGIN=ORIGIN)

    assert "Access-Control-Allow-Origin" not in response
