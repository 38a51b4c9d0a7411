"""Users carry the name, username and email of their token, kept current."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Person

pytestmark = pytest.mark.django_db


def _call(oidc_issuer, sub: str, **claims) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {oidc_issuer.token(sub, (), **claims)}")
    assert client.get("/api/v1/accounts").status_code == 200


def test_a_user_takes_the_claims_of_each_new_token(oidc_issuer) -> None:
    sub = "7d0f2f1c-2d1e-4c5f-9a70-0e1f4c1b2a33"
    _call(
        oidc_issuer,
        sub,
        preferred_username="alice",
        given_name="Alice",
        family_name="Demo",
        email="a@x.example",
    )
    first = Person.objects.select_related("user").get(user__username=sub)
    _call(oidc_issuer, sub, preferred_username="alice", name="Alice Married", email="alice@x.example")
    second = Person.objects.select_related("user").get(user__username=sub)

    assert (first.preferred_username, first.name, first.email) == ("alice", "Alice Demo", "a@x.example")
    assert (first.user.first_name, first.user.last_name) == ("Alice", "Demo")
    assert (second.name, second.email, second.user.email) == (
        "Alice Married",
        "alice@x.example",
        "alice@x.example",
    )
