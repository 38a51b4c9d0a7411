"""config.wsgi, what gunicorn serves: the API's calls on their own middleware, the site's on all of it.

Django's test client builds its own handler over settings.MIDDLEWARE, so these call the application
itself, as gunicorn does.
"""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings

from telemetry import tracing


@pytest.fixture(scope="module")
def application():
    """config.wsgi's application, imported here rather than when the tests are collected."""
    tracing_before = tracing.enabled()
    from config.wsgi import application

    if not tracing_before:
        tracing.use(None)  # as the rest of the tests run, whatever OTEL_* this shell has
    return application


def call(application, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """status, headers (by lower-case name), body"""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(), **headers}
    setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "testserver"
    answer: dict = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info=None) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


def test_the_api_runs_the_site_middleware_but_what_only_browsers_need(application):
    browser_only = [name for name in settings.MIDDLEWARE if name not in settings.API_MIDDLEWARE]

    assert [n for n in settings.MIDDLEWARE if n in settings.API_MIDDLEWARE] == settings.API_MIDDLEWARE
    assert settings.API_MIDDLEWARE[0] == "telemetry.http.RequestTelemetry"
    assert sorted(name.rsplit(".", 1)[1] for name in browser_only) == [
        "AuthenticationMiddleware",
        "CsrfViewMiddleware",
        "MessageMiddleware",
        "SessionMiddleware",
        "WhiteNoiseMiddleware",
    ]
    # And the API's handler was built from that list (CSRF is the one of them with a view hook).
    checks_csrf = {
        name: any(type(hook.__self__).__name__ == "CsrfViewMiddleware" for hook in handler._view_middleware)
        for name, handler in (("api", application.api), ("site", application.site))
    }
    assert checks_csrf == {"api": False, "site": True}


@pytest.mark.django_db(transaction=True)
def test_an_api_call_gets_its_request_id_cors_and_security_headers(application, oidc_issuer):
    origin = settings.CORS_ALLOWED_ORIGINS[0]

    status, headers, body = call(
        application,
        "/api/v1/accounts",
        HTTP_AUTHORIZATION=f"Bearer {oidc_issuer.token('wsgi-alice')}",
        HTTP_ORIGIN=origin,
        HTTP_X_REQUEST_ID="wsgi-call-1",
    )

    assert status == 200, body
    assert json.loads(body)["results"] == []
    assert headers["x-request-id"] == "wsgi-call-1"
    assert headers["access-control-allow-origin"] == origin
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert int(headers["content-length"]) == len(body)
    assert "set-cookie" not in headers


@pytest.mark.django_db(transaction=True)
def test_the_admin_still_has_sessions_and_their_user(application):
    status, headers, _ = call(application, "/admin/")

    # The admin reads request.user, which only the session middleware gives: without it, a 500.
    assert status == 302
    assert headers["location"].startswith("/admin/login/")
    assert headers["x-request-id"]
