"""Identity and roles: who may read, move or close which accounts, and what a missing token gets."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from tests.integration.api.support import assert_error, bank_state

pytestmark = pytest.mark.django_db

ACCOUNT_READS = ["", "/entries", "/events"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/accounts"),
        ("post", "/api/v1/accounts"),
        ("get", f"/api/v1/accounts/{uuid.uuid4()}"),
        ("get", f"/api/v1/accounts/{uuid.uuid4()}/entries"),
        ("get", f"/api/v1/accounts/{uuid.uuid4()}/events"),
        ("post", f"/api/v1/accounts/{uuid.uuid4()}/deposits"),
        ("post", f"/api/v1/accounts/{uuid.uuid4()}/withdrawals"),
        ("post", f"/api/v1/accounts/{uuid.uuid4()}/close"),
        ("post", "/api/v1/transfers"),
        ("get", f"/api/v1/events/{uuid.uuid4()}"),
    ],
)
def test_a_call_without_a_token_is_not_authenticated(method: str, path: str) -> None:
    before = bank_state()

    response = getattr(APIClient(), method)(path, {"currency": "KRW", "amount": "1"}, format="json")

    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert bank_state() == before


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer not-a-token", id="garbage"),
        pytest.param("Bearer a.b.c", id="three-garbage-parts"),
        pytest.param("Basic YWxpY2U6c2VjcmV0", id="basic-auth"),
        pytest.param("Bearer", id="bearer-without-token"),
    ],
)
def test_a_call_with_a_garbage_token_is_not_authenticated(authorization: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    before = bank_state()

    response = client.post("/api/v1/accounts", {"currency": "KRW"}, format="json")

    assert_error(response, 401, "not_authenticated")
    assert bank_state() == before


BAD_TOKENS = {
    "expired-beyond-the-leeway": lambda issuer, sub: issuer.expired_token(sub, seconds_ago=90),
    "forged": lambda issuer, sub: issuer.forged_token(sub),
    "unknown-key": lambda issuer, sub: issuer.unknown_kid_token(sub),
    "alg-none": lambda issuer, sub: issuer.alg_none_token(sub),
    "hs256-algorithm-confusion": lambda issuer, sub: issuer.hs256_confused_token(sub),
    "other-audience": lambda issuer, sub: issuer.token(sub, aud="other-api", azp="other-api"),
    "other-issuer": lambda issuer, sub: issuer.token(sub, iss="http://127.0.0.1:1/realms/evil"),
    "no-subject": lambda issuer, sub: issuer.token(sub, without=("sub",)),
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_a_token_the_provider_did_not_issue_for_this_api_is_not_authenticated(oidc_issuer, kind: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_TOKENS[kind](oidc_issuer, f'eve-{uuid.uuid4()}')}")
    before = bank_state()

    response = client.post("/api/v1/accounts", {"currency": "KRW"}, format="json")

    assert_error(response, 401, "not_authenticated")
    assert bank_state() == before


def test_a_token_meant_for_this_api_as_its_authorized_party_is_accepted(oidc_issuer) -> None:
    client = APIClient()
    token = oidc_issuer.token(f"carol-{uuid.uuid4()}", aud="account", azp=oidc_issuer.audience)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/api/v1/accounts")

    assert response.status_code == 200, response.content


def test_an_unreachable_identity_provider_with_no_cached_key_is_service_unavailable(oidc_issuer) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {oidc_issuer.token(f'carol-{uuid.uuid4()}')}")

    with oidc_issuer.offline():
        response = client.get("/api/v1/accounts")

    assert_error(response, 503, "service_unavailable")


def test_an_unreachable_identity_provider_does_not_stop_tokens_of_a_cached_key(alice, oidc_issuer) -> None:
    assert alice.get("/api/v1/accounts").status_code == 200

    with oidc_issuer.offline():
        response = alice.get("/api/v1/accounts")

    assert response.status_code == 200, response.content


def test_the_ops_role_counts_only_as_a_realm_role(oidc_issuer, bob) -> None:
    bobs = bob.open_account("KRW")
    token = oidc_issuer.token(
        f"mallory-{uuid.uuid4()}",
        (),
        resource_access={oidc_issuer.audience: {"roles": ["ops"]}},
        groups=["ops"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(f"/api/v1/accounts/{bobs['id']}")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("suffix", ACCOUNT_READS)
def test_another_users_account_looks_like_one_that_does_not_exist(alice, bob, suffix: str) -> None:
    bobs = bob.funded_account("KRW", "5000")

    someone_elses = alice.get(f"/api/v1/accounts/{bobs['id']}{suffix}")
    nobodys = alice.get(f"/api/v1/accounts/{uuid.uuid4()}{suffix}")

    assert_error(someone_elses, 404, "not_found")
    assert_error(nobodys, 404, "not_found")
    assert someone_elses.json() == nobodys.json()


@pytest.mark.parametrize("suffix", ACCOUNT_READS)
def test_ops_can_read_another_users_account_entries_and_events(ops, bob, suffix: str) -> None:
    bobs = bob.funded_account("KRW", "5000")

    response = ops.get(f"/api/v1/accounts/{bobs['id']}{suffix}")

    assert response.status_code == 200, response.content
    body = response.json()
    if suffix:
        assert body["count"] == 1
    else:
        assert body == bob.account(bobs["id"])


def test_another_users_event_is_not_found(alice, bob) -> None:
    bobs = bob.open_account("KRW")
    event = bob.deposit(bobs["id"], "5000").json()

    response = alice.get(f"/api/v1/events/{event['event_id']}")

    assert_error(response, 404, "not_found")


def test_an_event_that_does_not_exist_is_not_found(alice) -> None:
    response = alice.get(f"/api/v1/events/{uuid.uuid4()}")

    assert_error(response, 404, "not_found")


def test_ops_can_read_another_users_event(ops, bob) -> None:
    bobs = bob.open_account("KRW")
    event = bob.deposit(bobs["id"], "5000").json()

    response = ops.get(f"/api/v1/events/{event['event_id']}")

    assert response.status_code == 200, response.content
    assert response.json() == event


def test_the_receiver_of_a_transfer_sees_it_among_its_account_events_but_not_at_its_event_url(
    alice, bob
) -> None:
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    event = alice.transfer(source["id"], target["id"], "1000").json()

    listed = bob.get(f"/api/v1/accounts/{target['id']}/events").json()["results"]
    direct = bob.get(f"/api/v1/events/{event['event_id']}")

    assert [e["event_id"] for e in listed] == [event["event_id"]]
    assert_error(direct, 404, "not_found")


def test_ops_list_every_users_accounts_but_no_settlement_account(ops, alice, bob) -> None:
    own = ops.open_account("KRW")
    alices, bobs = alice.funded_account("USD", "10"), bob.open_account("JPY")
    settlement = {str(i) for i in Account.objects.filter(kind="settlement").values_list("id", flat=True)}

    response = ops.get("/api/v1/accounts", page_size=200)

    assert response.status_code == 200
    listed = {a["id"] for a in response.json()["results"]}
    assert {own["id"], alices["id"], bobs["id"]} <= listed
    assert settlement
    assert not listed & settlement


def test_a_settlement_account_is_not_found_even_for_ops(ops, alice) -> None:
    alice.funded_account("KRW", "10")
    settlement = Account.objects.get(kind="settlement", currency="KRW")

    response = ops.get(f"/api/v1/accounts/{settlement.id}")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("action", ["deposit", "withdrawal", "close"])
def test_a_customer_cannot_move_or_close_another_users_money(alice, bob, action: str) -> None:
    bobs = bob.funded_account("KRW", "5000")
    before = bank_state()

    response = _act(alice, action, bobs["id"])

    assert_error(response, 404, "not_found")
    assert bank_state() == before


@pytest.mark.parametrize("action", ["deposit", "withdrawal", "close"])
def test_ops_are_forbidden_to_move_or_close_another_users_money(ops, bob, action: str) -> None:
    bobs = bob.funded_account("KRW", "5000")
    before = bank_state()

    response = _act(ops, action, bobs["id"])

    assert_error(response, 403, "forbidden")
    assert bank_state() == before
    assert bob.account(bobs["id"])["status"] == "active"


def test_ops_are_forbidden_to_close_another_users_empty_account(ops, bob) -> None:
    bobs = bob.open_account("KRW")
    before = bank_state()

    response = ops.close(bobs["id"])

    assert_error(response, 403, "forbidden")
    assert bank_state() == before


def test_ops_use_their_own_accounts_like_anyone(ops, bob, apply_pending) -> None:
    own = ops.open_account("KRW")
    bobs = bob.open_account("KRW")

    deposit = ops.deposit(own["id"], "10000")
    withdrawal = ops.withdraw(own["id"], "1000")
    transfer = ops.transfer(own["id"], bobs["id"], "2000")
    apply_pending()

    assert [r.status_code for r in (deposit, withdrawal, transfer)] == [202, 202, 202]
    assert ops.account(own["id"])["balance"] == "7000"
    assert bob.account(bobs["id"])["balance"] == "2000"


def test_ops_close_their_own_empty_account(ops) -> None:
    own = ops.open_account("KRW")

    response = ops.close(own["id"])

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


@pytest.mark.parametrize("roles", [(), ("ops",)], ids=["customer", "ops"])
@pytest.mark.parametrize("action", ["deposit", "withdrawal", "close"])
def test_moving_or_closing_an_account_that_does_not_exist_is_not_found(customer, roles, action: str) -> None:
    caller = customer("carol", roles=roles)
    before = bank_state()

    response = _act(caller, action, str(uuid.uuid4()))

    assert_error(response, 404, "not_found")
    assert bank_state() == before


def _act(who, action: str, account_id: str):
    if action == "deposit":
        return who.deposit(account_id, "1000")
    if action == "withdrawal":
        return who.withdraw(account_id, "1000")
    return who.close(account_id)
