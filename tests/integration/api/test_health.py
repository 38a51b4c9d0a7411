"""Liveness, readiness and the API's published description, all reachable without a token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_while_the_process_runs() -> None:
    response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_with_the_state_of_each_dependency() -> None:
    response = APIClient().get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert set(body["dependencies"]) == {"postgresql", "redis", "rabbitmq"}
    assert body["dependencies"]["postgresql"] == "up"
    assert body["dependencies"]["redis"] == "up"
    expected = "ok" if body["dependencies"]["rabbitmq"] == "up" else "degraded"
    assert body["status"] == expected


def test_the_openapi_schema_is_served_without_a_token() -> None:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/transfers" in schema["paths"]
    assert "/api/v1/accounts/{account_id}/withdrawals" in schema["paths"]


def test_the_swagger_ui_is_served_without_a_token() -> None:
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
