"""DRF authentication of `/api/v1/` calls by OIDC bearer tokens, verified without the provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from mozilla_django_oidc.contrib.drf import OIDCAuthentication
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.identity import TokenIdentity
from accounts.oidc import InvalidToken, RemitOIDCBackend
from telemetry import context

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


class BearerTokenAuthentication(OIDCAuthentication):
    """Sets `request.user` to the token's user and `request.auth` to its TokenIdentity."""

    www_authenticate_realm = "remit"

    def __init__(self, backend: RemitOIDCBackend | None = None) -> None:
        super().__init__(backend or RemitOIDCBackend())

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, TokenIdentity] | None:
        """None without a bearer token; raises AuthenticationFailed, IdentityProviderUnavailable."""
        access_token = self.get_access_token(request)
        if not access_token:
            return None
        try:
            identity = self.backend.verify_access_token(access_token)
            user = self.backend.user_for(identity)
        except InvalidToken as exc:
            raise AuthenticationFailed(f"Invalid access token: {exc}") from exc
        context.user.set(user.get_username())  # on every later log line of the request
        return user, identity

    def get_access_token(self, request: Request) -> str | None:
        # The base class fails on a header of blanks only; treat it as no header.
        if not authentication.get_authorization_header(request).strip():
            return None
        return super().get_access_token(request)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document names this authentication: an OIDC access token as a bearer JWT."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the OIDC provider (OIDC_ISSUER) meant for OIDC_AUDIENCE.",
        }
