"""The OpenAPI document describes the API as it is: lists, errors, headers, names."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_operation_ids_are_unique_and_meaningful(schema) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]

    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(
        [
            "list_accounts",
            "open_account",
            "get_account",
            "close_account",
            "list_entries",
            "list_account_events",
            "deposit",
            "withdraw",
            "transfer",
            "get_event",
            "freeze_account",
            "unfreeze_account",
            "request_reversal",
            "list_reversals",
            "approve_reversal",
            "decline_reversal",
        ]
    )


def test_no_component_is_named_twice_over(schema) -> None:
    names = schema["components"]["schemas"]

    assert not [name for name in names if "RequestRequest" in name or name[-1].isdigit()]


@pytest.mark.parametrize(
    ("operation_id", "cursor"),
    [("list_accounts", False), ("list_entries", True), ("list_account_events", True)],
)
def test_lists_are_described_with_their_envelope_and_parameters(
    schema, operation_id: str, cursor: bool
) -> None:
    operation = next(op for _, _, op in _operations(schema) if op["operationId"] == operation_id)
    body = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    parameters = {p["name"] for p in operation["parameters"]}

    assert set(body["properties"]) == {"count", "next", "previous", "results"}
    assert body["properties"]["results"]["type"] == "array"
    assert ("count" in body["required"]) is not cursor
    assert {"page", "page_size"} <= parameters
    assert ("cursor" in parameters) is cursor


def test_every_operation_documents_its_errors_with_the_error_schema_and_codes(schema) -> None:
    for path, method, operation in _operations(schema):
        errors = {status: r for status, r in operation["responses"].items() if status >= "400"}
        assert {"401", "429", "503"} <= set(errors), (path, method)
        for status, response in errors.items():
            body = _resolve(schema, response["content"]["application/json"]["schema"])
            detail = _resolve(schema, body["properties"]["error"])
            codes = _resolve(schema, detail["properties"]["code"])
            assert codes["enum"], (path, method, status)
            assert {"code", "message"} <= set(detail["required"])


def test_movements_declare_their_headers_and_both_answers(schema) -> None:
    for operation_id in ("deposit", "withdraw", "transfer"):
        operation = next(op for _, _, op in _operations(schema) if op["operationId"] == operation_id)
        parameters = {p["name"] for p in operation["parameters"]}

        assert {"Idempotency-Key", "Prefer", "X-Request-ID"} <= parameters
        assert {"Location", "Retry-After", "Preference-Applied"} <= set(
            operation["responses"]["202"]["headers"]
        )
        assert {"Location", "Preference-Applied"} <= set(operation["responses"]["200"]["headers"])
        assert {"400", "404", "409", "422", "429"} <= set(operation["responses"])


def test_reading_an_event_declares_etag_and_304(schema) -> None:
    operation = schema["paths"]["/api/v1/events/{event_id}"]["get"]

    assert {"If-None-Match", "Prefer"} <= {p["name"] for p in operation["parameters"]}
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "304" in operation["responses"]


def test_an_event_reason_is_one_of_its_codes(schema) -> None:
    reason = schema["components"]["schemas"]["Event"]["properties"]["reason"]

    codes = _resolve(schema, reason.get("allOf", [reason])[0])

    assert reason["nullable"] is True
    assert set(codes["enum"]) >= {"insufficient_funds", "daily_limit_exceeded"}


def test_every_request_and_success_response_has_an_example(schema) -> None:
    for path, method, operation in _operations(schema):
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"].get("examples"), (path, method)
        for status, response in operation["responses"].items():
            if status.startswith("2") and "content" in response:
                assert response["content"]["application/json"].get("examples"), (path, method, status)
