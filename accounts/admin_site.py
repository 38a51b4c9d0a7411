"""Sign-in to the Django admin through the OIDC provider; only users with the ops role get in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from accounts.oidc import IdentityProviderUnavailable, current_verifier

PROVIDER_DOWN_MESSAGE = "The identity provider cannot be reached; try again later."


@never_cache
def admin_login_via_oidc(request: HttpRequest) -> HttpResponse:
    """Routed at `admin/login/` ahead of the admin: send the browser to the provider's sign-in."""
    if request.user.is_authenticated:
        if not request.user.is_staff:
            # Redirecting again would loop: this session belongs to someone without the ops role.
            return HttpResponseForbidden("This account may not use the admin.")
        return HttpResponseRedirect(reverse("admin:index"))
    next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
    query = urlencode({REDIRECT_FIELD_NAME: next_url})
    return HttpResponseRedirect(f"{reverse('oidc_authentication_init')}?{query}")


class AdminSignInView(OIDCAuthenticationRequestView):
    """Redirects to the provider's authorization endpoint, read from discovery."""

    def __init__(self, **kwargs: Any) -> None:
        # The base __init__ reads OIDC_OP_AUTHORIZATION_ENDPOINT; discovery supplies it on demand.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    # Upper-case names: these replace the attributes the base class would have read from settings.
    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return current_verifier().endpoint("authorization_endpoint")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_AUDIENCE

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except IdentityProviderUnavailable:
            return HttpResponse(PROVIDER_DOWN_MESSAGE, status=503)


class AdminSignInCallbackView(OIDCAuthenticationCallbackView):
    """Completes the sign-in; a refusal is a 403 page rather than a redirect to nowhere."""

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except requests.HTTPError:
            # The provider refused the authorization code.
            return self.login_failure()
        except (IdentityProviderUnavailable, requests.RequestException):
            return HttpResponse(PROVIDER_DOWN_MESSAGE, status=503)

    def login_failure(self) -> HttpResponse:
        return HttpResponseForbidden("Sign-in failed, or this account may not use the admin.")
