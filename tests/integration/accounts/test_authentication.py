"""Bearer-token authentication against a real OIDC issuer on loopback, via a minimal DRF view."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from prometheus_client import REGISTRY
from pytest_django import DjangoAssertNumQueries
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.authentication import BearerTokenAuthentication
from accounts.oidc import InvalidToken, TokenVerifier
from tests.support.oidc_issuer import LoopbackIssuer

SUBJECT = "8f14e45f-ceea-467f-a0e6-1d7e6b1f2f01"


class WhoAmI(APIView):
    authentication_classes = (BearerTokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        identity = request.auth
        return Response(
            {
                "user_id": request.user.pk,
                "username": request.user.username,
                "subject": identity.subject,
                "roles": sorted(identity.roles),
                "is_ops": identity.is_ops,
            }
        )


who_am_i = WhoAmI.as_view()


def call_with(token: str | None) -> Response:
    headers = {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return who_am_i(APIRequestFactory().get("/api/v1/whoami", **headers))


def error_code(response: Response) -> str:
    return response.data["error"]["code"]


@pytest.mark.django_db
def test_valid_rs256_token_is_accepted_and_its_user_created_on_first_sight(
    oidc_issuer: LoopbackIssuer,
) -> None:
    response = call_with(oidc_issuer.token(SUBJECT))

    assert response.status_code == 200
    assert response.data["username"] == SUBJECT
    assert response.data["subject"] == SUBJECT
    assert User.objects.filter(username=SUBJECT).count() == 1
    assert not User.objects.get(username=SUBJECT).has_usable_password()


@pytest.mark.django_db
def test_valid_es256_token_is_accepted(oidc_issuer: LoopbackIssuer) -> None:
    response = call_with(oidc_issuer.es256_token(SUBJECT))

    assert response.status_code == 200
    assert response.data["username"] == SUBJECT


@pytest.mark.django_db
def test_second_call_of_a_subject_reuses_its_user(oidc_issuer: LoopbackIssuer) -> None:
    first = call_with(oidc_issuer.token(SUBJECT))
    second = call_with(oidc_issuer.es256_token(SUBJECT))

    assert first.status_code == second.status_code == 200
    assert first.data["user_id"] == second.data["user_id"]
    assert User.objects.filter(username=SUBJECT).count() == 1


@pytest.mark.django_db
def test_known_subject_is_authenticated_without_a_database_query(
    oidc_issuer: LoopbackIssuer, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200

    with django_assert_num_queries(0):
        response = call_with(oidc_issuer.token(SUBJECT))

    assert response.status_code == 200


@pytest.mark.django_db
def test_ops_realm_role_makes_the_caller_ops(oidc_issuer: LoopbackIssuer) -> None:
    response = call_with(oidc_issuer.token(SUBJECT, roles=("ops", "offline_access")))

    assert response.status_code == 200
    assert response.data["roles"] == ["offline_access", "ops"]
    assert response.data["is_ops"] is True


@pytest.mark.django_db
def test_caller_without_the_ops_role_is_a_customer(oidc_issuer: LoopbackIssuer) -> None:
    response = call_with(oidc_issuer.token(SUBJECT, roles=("offline_access",)))

    assert response.status_code == 200
    assert response.data["is_ops"] is False


def test_request_without_a_token_is_401_with_a_bearer_challenge() -> None:
    response = call_with(None)

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer ")


INVALID_TOKENS: dict[str, Callable[[LoopbackIssuer], str]] = {
    "forged-signature": lambda issuer: issuer.forged_token(SUBJECT),
    "expired": lambda issuer: issuer.expired_token(SUBJECT),
    "expired-beyond-leeway": lambda issuer: issuer.expired_token(
        SUBJECT, seconds_ago=settings.OIDC_LEEWAY_SECONDS + 5
    ),
    "wrong-issuer": lambda issuer: issuer.token(SUBJECT, iss=f"{issuer.base_url}/realms/other"),
    "wrong-audience": lambda issuer: issuer.token(SUBJECT, aud="another-api", azp="another-app"),
    "no-audience": lambda issuer: issuer.token(SUBJECT, without=("aud", "azp")),
    "alg-none": lambda issuer: issuer.alg_none_token(SUBJECT),
    "hs256-with-public-key": lambda issuer: issuer.hs256_confused_token(SUBJECT),
    "rsa-signed-naming-the-ec-key": lambda issuer: issuer.token(SUBJECT, kid=issuer.ec_key.kid),
    "missing-sub": lambda issuer: issuer.token(SUBJECT, without=("sub",)),
    "empty-sub": lambda issuer: issuer.token(""),
    "missing-exp": lambda issuer: issuer.token(SUBJECT, without=("exp",)),
    "an-id-token": lambda issuer: issuer.token(SUBJECT, typ="ID"),
    "not-a-jwt": lambda issuer: "not-a-jwt",
}


@pytest.mark.parametrize("make_token", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
def test_invalid_token_is_401(
    oidc_issuer: LoopbackIssuer, make_token: Callable[[LoopbackIssuer], str]
) -> None:
    response = call_with(make_token(oidc_issuer))

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.django_db
def test_token_expired_within_the_leeway_is_accepted(oidc_issuer: LoopbackIssuer) -> None:
    token = oidc_issuer.expired_token(SUBJECT, seconds_ago=settings.OIDC_LEEWAY_SECONDS - 10)

    assert call_with(token).status_code == 200


@pytest.mark.django_db
def test_token_for_another_audience_but_authorized_party_this_one_is_accepted(
    oidc_issuer: LoopbackIssuer,
) -> None:
    token = oidc_issuer.token(SUBJECT, aud=["account"], azp=settings.OIDC_AUDIENCE)

    assert call_with(token).status_code == 200


@pytest.mark.django_db
def test_token_whose_audience_list_names_this_service_is_accepted(
    oidc_issuer: LoopbackIssuer,
) -> None:
    token = oidc_issuer.token(SUBJECT, aud=["account", settings.OIDC_AUDIENCE], azp="web-app")

    assert call_with(token).status_code == 200


@pytest.mark.django_db
def test_deactivated_user_is_401(oidc_issuer: LoopbackIssuer) -> None:
    User.objects.create_user(SUBJECT, is_active=False)

    response = call_with(oidc_issuer.token(SUBJECT))

    assert response.status_code == 401


@pytest.mark.django_db
def test_user_deactivated_after_being_cached_is_401_on_the_next_call(
    oidc_issuer: LoopbackIssuer,
) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200

    user = User.objects.get(username=SUBJECT)
    user.is_active = False
    user.save()

    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 401


@pytest.mark.django_db
def test_unknown_kid_refreshes_the_jwks_so_a_rotated_key_is_accepted(
    oidc_issuer: LoopbackIssuer,
) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200
    fetches_before = oidc_issuer.jwks_requests

    oidc_issuer.rotate_key()
    response = call_with(oidc_issuer.token(SUBJECT))

    assert response.status_code == 200
    assert oidc_issuer.jwks_requests == fetches_before + 1


@pytest.mark.django_db
def test_key_refreshes_show_in_the_metrics_as_they_succeed_and_fail(oidc_issuer: LoopbackIssuer) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200
    ok, failed = (refreshes("ok"), refreshes("failed"))

    oidc_issuer.rotate_key()
    call_with(oidc_issuer.token(SUBJECT))
    oidc_issuer.rotate_key()
    with oidc_issuer.offline():
        call_with(oidc_issuer.token(SUBJECT))

    assert refreshes("ok") == ok + 1
    assert refreshes("failed") == failed + 1


def refreshes(outcome: str) -> float:
    return REGISTRY.get_sample_value("remit_oidc_key_refreshes_total", {"outcome": outcome}) or 0


@pytest.mark.django_db
def test_known_kid_is_verified_without_calling_the_provider(oidc_issuer: LoopbackIssuer) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200
    fetches_before = oidc_issuer.jwks_requests

    for _ in range(5):
        assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200

    assert oidc_issuer.jwks_requests == fetches_before


@pytest.mark.django_db
def test_flood_of_unknown_kids_refreshes_the_jwks_only_a_few_times(
    oidc_issuer: LoopbackIssuer,
) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200
    fetches_before = oidc_issuer.jwks_requests

    statuses = {call_with(oidc_issuer.unknown_kid_token(SUBJECT)).status_code for _ in range(20)}

    assert statuses == {401}
    assert oidc_issuer.jwks_requests - fetches_before <= 2


def test_provider_down_and_no_cached_key_is_503(oidc_issuer: LoopbackIssuer) -> None:
    token = oidc_issuer.token(SUBJECT)

    with oidc_issuer.offline():
        response = call_with(token)

    assert response.status_code == 503
    assert error_code(response) == "service_unavailable"


@pytest.mark.django_db
def test_provider_down_with_the_key_cached_still_accepts_tokens(
    oidc_issuer: LoopbackIssuer,
) -> None:
    assert call_with(oidc_issuer.token(SUBJECT)).status_code == 200

    with oidc_issuer.offline():
        response = call_with(oidc_issuer.token(SUBJECT))

    assert response.status_code == 200


def _verifier_with_keys_that_age_in(issuer: LoopbackIssuer, seconds: float) -> TokenVerifier:
    return TokenVerifier(
        issuer=issuer.issuer,
        audience=settings.OIDC_AUDIENCE,
        leeway_seconds=0,
        http_timeout_seconds=2,
        keys_max_age_seconds=seconds,
    )


def test_a_key_the_provider_withdraws_is_refused_once_the_keys_are_past_their_max_age(
    oidc_issuer: LoopbackIssuer,
) -> None:
    verifier = _verifier_with_keys_that_age_in(oidc_issuer, 0.2)
    leaked = oidc_issuer.rsa_key
    signed_with_leaked = oidc_issuer.token(SUBJECT)
    assert verifier.verify(signed_with_leaked).subject == SUBJECT

    oidc_issuer.rotate_key()
    oidc_issuer.withdraw_key(leaked)
    time.sleep(0.3)

    with pytest.raises(InvalidToken):
        verifier.verify(signed_with_leaked)  # even though this very token was verified before
    assert verifier.verify(oidc_issuer.token(SUBJECT)).subject == SUBJECT


def test_keys_past_their_max_age_stay_in_use_while_the_provider_is_down(oidc_issuer: LoopbackIssuer) -> None:
    verifier = _verifier_with_keys_that_age_in(oidc_issuer, 0.2)
    assert verifier.verify(oidc_issuer.token(SUBJECT)).subject == SUBJECT
    time.sleep(0.3)

    with oidc_issuer.offline():
        identities = [verifier.verify(oidc_issuer.token(f"{SUBJECT}-{n}")) for n in range(3)]

    assert [i.subject for i in identities] == [f"{SUBJECT}-{n}" for n in range(3)]
