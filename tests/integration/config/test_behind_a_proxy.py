"""Production behind a TLS-terminating proxy: Django's deployment checks pass, and https is seen as https."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tests.integration.config.test_settings import COMPLETE
from tests.support.processes import ROOT

BEHIND_A_PROXY = {
    **COMPLETE,
    # What a deployment has and the minimal set of the other test lacks: a real secret.
    "SECRET_KEY": "k" * 20 + "-Xq3v9Lr2mZ8tWb5nYc7Hd1Jf4Gs6Pa0Ue",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "CSRF_TRUSTED_ORIGINS": "https://api.example",
}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_deployment_checks_find_nothing_under_production_settings():
    result = manage(BEHIND_A_PROXY, "check", "--deploy")

    issues = re.findall(r"\(([a-z_]+)\.[CEW]\d+\)", result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    # The OpenAPI schema's own warnings (drf_spectacular) are issue 10's; every other check is clean.
    assert [issue for issue in issues if issue != "drf_spectacular"] == [], result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("SECURE_PROXY_SSL_HEADER", "X Forwarded Proto"), ("CSRF_TRUSTED_ORIGINS", "api.example")],
)
def test_a_malformed_proxy_setting_stops_start_up_naming_it(name, value):
    result = manage({**BEHIND_A_PROXY, name: value}, "check")

    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"remit: configuration error: {name} must ")


@pytest.mark.django_db
def test_the_admin_sign_in_sends_an_https_callback_behind_the_proxy(settings, oidc_issuer):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["api.example"]

    response = Client().get(
        "/oidc/authenticate/", HTTP_HOST="api.example", HTTP_X_FORWARDED_PROTO="https", secure=False
    )

    assert response.status_code == 302
    callback = parse_qs(urlsplit(response["Location"]).query)["redirect_uri"][0]
    assert callback == "https://api.example/oidc/callback/"
    assert response["X-Request-ID"]
