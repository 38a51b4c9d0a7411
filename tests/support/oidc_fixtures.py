"""Pytest plugin: a loopback OIDC issuer that the settings point at; API clients with its tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.oidc import forget_users, install_verifier
from config import bootstrap
from tests.support.oidc_issuer import LoopbackIssuer


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[LoopbackIssuer]:
    """The issuer that OIDC_ISSUER names for the whole session."""
    issuer = LoopbackIssuer(audience=settings.OIDC_AUDIENCE)
    issuer.start()
    previous = settings.OIDC_ISSUER
    settings.OIDC_ISSUER = issuer.issuer
    yield issuer
    settings.OIDC_ISSUER = previous
    issuer.stop()


@pytest.fixture(autouse=True)
def _forget_cached_identities() -> None:
    """No cached keys or users between tests: a rolled-back user must not outlive its test."""
    bootstrap.forget_token_verifiers()
    install_verifier(bootstrap.token_verifier)  # as the URL map's bootstrap.api() does
    forget_users()


@pytest.fixture
def api_client_for(oidc_issuer: LoopbackIssuer) -> Callable[..., APIClient]:
    """`api_client_for("alice", roles=("ops",))`: a client whose calls carry a fresh token."""

    def client_for(sub: str, roles: Iterable[str] = ()) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {oidc_issuer.token(sub, roles)}")
        return client

    return client_for
