"""Errors: malformed bodies, unknown paths and methods all answer `{"error": {"code", "message"}}`."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection

from tests.integration.api.support import assert_error, bank_state
from transfers.api.errors import status_of
from transfers.domain import errors
from transfers.models import Event

pytestmark = pytest.mark.django_db


def _post_paths(alice) -> dict[str, str]:
    account = alice.open_account("KRW")
    return {
        "open": "/api/v1/accounts",
        "deposit": f"/api/v1/accounts/{account['id']}/deposits",
        "withdrawal": f"/api/v1/accounts/{account['id']}/withdrawals",
        "transfer": "/api/v1/transfers",
    }


@pytest.mark.parametrize("endpoint", ["open", "deposit", "withdrawal", "transfer"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"amount": "5"', id="unterminated"),
        pytest.param("{'amount': '5'}", id="single-quotes"),
        pytest.param("amount=5", id="form-encoded"),
        pytest.param('{"amount": "5"} x', id="trailing-garbage"),
        pytest.param('{"amount": NaN}', id="nan-literal"),
        pytest.param('{"amount": Infinity}', id="infinity-literal"),
    ],
)
def test_a_body_that_is_not_json_is_refused_as_malformed(alice, endpoint: str, body: str) -> None:
    path = _post_paths(alice)[endpoint]
    before = bank_state()

    response = alice.client.post(path, body, content_type="application/json")

    assert_error(response, 400, "malformed_json")
    assert bank_state() == before


@pytest.mark.parametrize("endpoint", ["open", "deposit", "withdrawal", "transfer"])
@pytest.mark.parametrize("body", [["5"], "5", 5, None], ids=["list", "string", "number", "null"])
def test_a_json_body_that_is_not_an_object_is_refused_as_invalid(alice, endpoint: str, body: object) -> None:
    path = _post_paths(alice)[endpoint]
    before = bank_state()

    response = alice.client.generic("POST", path, json.dumps(body), content_type="application/json")

    assert_error(response, 400, "validation_error")
    assert response.json()["error"]["fields"]
    assert bank_state() == before


def test_a_body_of_another_media_type_is_refused_in_the_error_shape(alice) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    response = alice.client.post(f"/api/v1/accounts/{account['id']}/deposits", {"amount": "5"})

    assert_error(response, 415, "unsupported_media_type")
    assert bank_state() == before


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nowhere", "/api/v1/accounts/not-a-uuid", f"/api/v1/accounts/{uuid.uuid4()}/nowhere"],
)
def test_an_unknown_path_is_not_found_in_the_error_shape(alice, path: str) -> None:
    response = alice.get(path)

    assert_error(response, 404, "not_found")


def test_an_unsupported_method_is_refused_in_the_error_shape(alice) -> None:
    account = alice.open_account("KRW")
    before = bank_state()

    response = alice.client.delete(f"/api/v1/accounts/{account['id']}")

    assert_error(response, 405, "method_not_allowed")
    assert bank_state() == before


def test_a_validation_error_names_each_bad_field(alice) -> None:
    response = alice.post("/api/v1/transfers", {"from_account": "x", "to_account": "y", "amount": "-1"})

    error = assert_error(response, 400, "validation_error", fields={"from_account", "to_account", "amount"})
    assert all(isinstance(messages, list) and messages for messages in error["fields"].values())


@pytest.mark.django_db(transaction=True)
def test_a_database_error_from_a_bug_is_a_500_with_its_traceback_logged_not_a_retry_later(alice, caplog):
    account = alice.open_account("KRW")
    with connection.cursor() as cursor:  # a bad deploy: the table refuses what the code writes
        cursor.execute("ALTER TABLE transfers_event ADD CONSTRAINT planted_bug CHECK (reference <> 'bug')")
    alice.client.raise_request_exception = False
    try:
        response = alice.deposit(account["id"], "5", reference="bug")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE transfers_event DROP CONSTRAINT planted_bug")

    assert response.status_code == 500
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert [type(r.exc_info[1]).__name__ for r in logged] == ["IntegrityError"]


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_write_answers_service_unavailable(alice):
    account = alice.open_account("KRW")
    with connection.cursor() as cursor:  # as a standby after a failover: read-only
        cursor.execute("SET default_transaction_read_only = on")
    try:
        response = alice.deposit(account["id"], "5")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")

    assert_error(response, 503, "service_unavailable")
    assert not Event.objects.filter(account_id=account["id"]).exists()


def test_an_error_the_contract_does_not_map_answers_as_its_parent_does():
    class LaterRejection(errors.DailyLimitExceeded):
        code = "later_rejection"

    class Unnamed(errors.RemitError):
        pass

    assert (status_of(LaterRejection()), status_of(Unnamed())) == (422, 500)
