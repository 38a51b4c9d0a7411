"""Signing in to the Django admin through the loopback OIDC issuer: ops get in, customers do not."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path
from pytest_django import Settings

from accounts.admin_site import admin_login_via_oidc
from tests.support.oidc_issuer import LoopbackIssuer

# The URL wiring the project uses, so the test does not depend on the rest of config.urls.
urlpatterns = [
    path("admin/login/", admin_login_via_oidc),
    path("admin/", admin.site.urls),
    path("oidc/", include("accounts.urls_oidc")),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

OLGA = "5f0c3c1e-9a43-4c55-8a4c-1c3f1f2b7d10"


@pytest.fixture(autouse=True)
def _oidc_backend(settings: Settings) -> None:
    settings.AUTHENTICATION_BACKENDS = ["accounts.oidc.RemitOIDCBackend"]


def sign_in_to_admin(client: Client, issuer: LoopbackIssuer) -> HttpResponse:
    """Follow the browser from /admin/ to the provider and back; return the callback's answer."""
    to_login = client.get("/admin/")
    to_oidc = client.get(to_login["Location"])
    to_provider = client.get(to_oidc["Location"])
    assert to_provider["Location"].startswith(issuer.discovery()["authorization_endpoint"])
    back = requests.get(to_provider["Location"], allow_redirects=False, timeout=3)
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_ops_user_signs_in_to_the_admin(oidc_issuer: LoopbackIssuer) -> None:
    client = Client()
    oidc_issuer.sign_in_as(OLGA, roles=("ops",))

    callback = sign_in_to_admin(client, oidc_issuer)
    index = client.get("/admin/")

    assert callback.status_code == 302
    assert callback["Location"] == "/admin/"
    assert index.status_code == 200
    assert index.wsgi_request.user.username == OLGA
    assert User.objects.get(username=OLGA).is_staff


def test_customer_is_refused_and_loses_any_staff_flag(oidc_issuer: LoopbackIssuer) -> None:
    User.objects.create_user(OLGA, is_staff=True)
    client = Client()
    oidc_issuer.sign_in_as(OLGA, roles=("offline_access",))

    callback = sign_in_to_admin(client, oidc_issuer)
    index = client.get("/admin/")

    assert callback.status_code == 403
    assert index.status_code == 302
    assert index["Location"].startswith("/admin/login/")
    assert not User.objects.get(username=OLGA).is_staff


def test_sign_in_while_the_provider_is_down_is_503(oidc_issuer: LoopbackIssuer) -> None:
    with oidc_issuer.offline():
        response = Client().get("/oidc/authenticate/?next=/admin/")

    assert response.status_code == 503
