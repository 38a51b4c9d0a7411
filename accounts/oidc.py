"""OIDC identity: tokens verified locally against the issuer's cached JWKS; their Django users."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from rest_framework import status
from rest_framework.exceptions import APIException

from accounts.identity import TokenIdentity
from telemetry import metrics

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
# The length of Django's `User.username`, which holds the subject.
MAX_SUBJECT_LENGTH = 150


class IdentityProviderUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The identity provider cannot be reached; try again later."


class InvalidToken(SuspiciousOperation):
    """A token that must not be accepted; a SuspiciousOperation, as the OIDC views expect."""


class _RefreshBudget:
    """Token bucket: `burst` provider fetches at once, then one per `seconds_per_fetch`."""

    def __init__(self, *, burst: int, seconds_per_fetch: float) -> None:
        self._burst = burst
        self._seconds_per_fetch = seconds_per_fetch
        self._available = float(burst)
        self._updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        refill = (now - self._updated) / self._seconds_per_fetch
        self._available = min(self._burst, self._available + refill)
        self._updated = now
        if self._available < 1:
            return False
        self._available -= 1
        return True


class TokenVerifier:
    """Verifies tokens of one issuer for one audience.

    Keys are fetched on an unknown kid, and again once they are `keys_max_age_seconds` old, so a
    key the provider withdraws stops being trusted within that time. While the provider cannot be
    reached, the keys already fetched stay in use.
    """

    REMEMBERED_TOKENS = 100_000
    RETRY_STALE_KEYS_SECONDS = 10.0

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float,
        http_timeout_seconds: float,
        keys_max_age_seconds: float = 600.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds
        self.http_timeout_seconds = http_timeout_seconds
        self._lock = threading.Lock()
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_max_age = keys_max_age_seconds
        self._keys_stale_at = 0.0  # time.monotonic(); no keys yet
        # Bogus kids cost nothing to forge, so they may not cost the provider more than this.
        self._budget = _RefreshBudget(burst=3, seconds_per_fetch=10.0)
        self._last_fetch_failed = False
        self._verified: dict[str, tuple[float, TokenIdentity]] = {}

    def verify(self, token: str, *, kind: str = "Bearer") -> TokenIdentity:
        """Return the token's identity; raises InvalidToken or IdentityProviderUnavailable.

        `kind` is Keycloak's `typ` claim: "Bearer" for access tokens (a token without `typ` counts
        as one), "ID" for the ID token of a sign-in, which proves who signed in but grants nothing.
        A token verified once is remembered until it expires: a client sends the same token many
        times, and checking its signature and encoding again costs more than the rest of a request.
        """
        if time.monotonic() >= self._keys_stale_at:
            self._refresh_stale_keys()
        remembered = self._verified.get(token)
        if remembered is not None and time.time() <= remembered[0] + self.leeway_seconds:
            identity = remembered[1]
        else:
            identity, expires_at = self._verify(token)
            with self._lock:
                if len(self._verified) >= self.REMEMBERED_TOKENS:
                    self._verified.clear()  # cheaper than tracking age; a refill costs one check each
                self._verified[token] = (expires_at, identity)
        if identity.claims.get("typ", "Bearer") != kind:
            raise InvalidToken(f"the token is not of the kind {kind!r}")
        return identity

    def _verify(self, token: str) -> tuple[TokenIdentity, float]:
        alg, kid = _unverified_alg_and_kid(token)
        key = self._signing_key(kid)
        if key.algorithm_name != alg:
            raise InvalidToken("the token's algorithm does not match its signing key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        self._check_audience(claims)
        _check_subject(claims)
        return TokenIdentity.from_claims(claims), float(claims["exp"])

    def endpoint(self, name: str) -> str:
        """An endpoint URL from the discovery document, such as `token_endpoint`."""
        with self._lock:
            discovery = self._discovery or self._fetch_discovery()
        url = discovery.get(name)
        if not isinstance(url, str):
            logger.error("identity provider: discovery document has no %s", name)
            raise IdentityProviderUnavailable()
        return url

    def _check_audience(self, claims: dict[str, Any]) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self.audience not in audiences and claims.get("azp") != self.audience:
            raise InvalidToken("the token is not meant for this service")

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            # Another request may have refreshed the keys while this one waited.
            if kid not in self._keys:
                self._refresh_keys()
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed by an unknown key")
        return key

    def _refresh_stale_keys(self) -> None:
        with self._lock:
            if time.monotonic() < self._keys_stale_at:
                return  # another request refreshed them while this one waited
            # Until a refresh succeeds, try again now and then, not on every request.
            self._keys_stale_at = time.monotonic() + self.RETRY_STALE_KEYS_SECONDS
            try:
                self._refresh_keys()
            except IdentityProviderUnavailable:
                if not self._keys:
                    raise
                logger.warning("identity provider unreachable: keeping keys past their max age")

    def _refresh_keys(self) -> None:
        if not self._budget.take():
            if self._last_fetch_failed:
                raise IdentityProviderUnavailable()
            return
        try:
            discovery = self._discovery or self._fetch_discovery(budgeted=False)
            try:
                jwks = self._get_json(discovery["jwks_uri"])
            except IdentityProviderUnavailable:
                # The JWKS may have moved: read the discovery document again next time.
                self._discovery = None
                raise
            keys = _signing_keys(jwks)
        except IdentityProviderUnavailable:
            metrics.oidc_key_refreshes.labels("failed").inc()
            raise
        metrics.oidc_key_refreshes.labels("ok").inc()
        if self._keys.keys() - keys.keys():
            self._verified.clear()  # some tokens in it were signed by a key now withdrawn
        self._keys = keys
        self._keys_stale_at = time.monotonic() + self._keys_max_age

    def _fetch_discovery(self, *, budgeted: bool = True) -> dict[str, Any]:
        if budgeted and not self._budget.take():
            raise IdentityProviderUnavailable()
        discovery = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        if discovery.get("issuer") != self.issuer or not isinstance(discovery.get("jwks_uri"), str):
            logger.error("identity provider: discovery document does not describe %s", self.issuer)
            raise IdentityProviderUnavailable()
        self._discovery = discovery
        return discovery

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.http_timeout_seconds)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("identity provider: GET %s failed: %s", url, exc)
            self._last_fetch_failed = True
            raise IdentityProviderUnavailable() from exc
        self._last_fetch_failed = False
        if not isinstance(document, dict):
            raise IdentityProviderUnavailable()
        return document


def _unverified_alg_and_kid(token: str) -> tuple[str, str]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is malformed") from exc
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALLOWED_ALGORITHMS:
        raise InvalidToken(f"the algorithm {alg!r} is not accepted")
    if not isinstance(kid, str):
        raise InvalidToken("the token names no signing key")
    return alg, kid


def _check_subject(claims: dict[str, Any]) -> None:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_LENGTH:
        raise InvalidToken("the token's subject is not usable")


def _signing_keys(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The JWKS's signature keys of an allowed algorithm, by kid; anything else is skipped."""
    entries = jwks.get("keys")
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in entries if isinstance(entries, list) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        if not isinstance(jwk.get("kid"), str):
            continue
        try:
            key = jwt.PyJWK(jwk)
        except (jwt.PyJWTError, ValueError):
            continue
        if key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[jwk["kid"]] = key
    return keys


_verifier_source: Callable[[], TokenVerifier] | None = None


def install_verifier(source: Callable[[], TokenVerifier]) -> None:
    """Where the backend and the admin sign-in get their TokenVerifier; the composition root
    (config/bootstrap.py) calls this as it builds the application. The framework instantiates
    the backend and the authentication class itself, so the verifier cannot be passed in."""
    global _verifier_source
    _verifier_source = source


def current_verifier() -> TokenVerifier:
    if _verifier_source is None:
        raise ImproperlyConfigured("no token verifier: config.bootstrap.api() installs it")
    return _verifier_source()


class _UserCache:
    """Users by subject for a short while, handed out as copies so no two requests share one."""

    TTL_SECONDS = 60.0
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, AbstractBaseUser]] = {}

    def get(self, subject: str) -> AbstractBaseUser | None:
        with self._lock:
            entry = self._entries.get(subject)
        if entry is None or entry[0] < time.monotonic():
            return None
        # Shallow is enough: Django copies a model's state with it, and a user holds no mutable field.
        return copy.copy(entry[1])

    def put(self, subject: str, user: AbstractBaseUser) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[subject] = (time.monotonic() + self.TTL_SECONDS, copy.copy(user))

    def clear(self, **_signal_kwargs: Any) -> None:
        with self._lock:
            self._entries.clear()


_users = _UserCache()


class _People:
    """Keeps each user's name, username and email as their latest token says: written when a
    subject's claims differ from what this process last wrote, so most requests write nothing."""

    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[int, tuple[str, ...]] = {}

    def keep_current(self, user: AbstractBaseUser, identity: TokenIdentity) -> None:
        from accounts.models import Person

        profile = identity.profile()
        if self._written.get(user.pk) == profile:
            return
        preferred_username, name, email, given, family = profile
        Person.objects.update_or_create(
            user_id=user.pk, defaults={"preferred_username": preferred_username, "name": name, "email": email}
        )
        # A queryset update: no signal, so the cache of users stays; the admin reads users afresh.
        type(user).objects.filter(pk=user.pk).update(first_name=given, last_name=family, email=email)
        with self._lock:
            if len(self._written) >= self.MAX_ENTRIES:
                self._written.clear()
            self._written[user.pk] = profile


_people = _People()


def forget_users(**_signal_kwargs: Any) -> None:
    """A changed or deleted user (deactivated in the admin, say) is re-read on its next request;
    connected to the user model's signals in AccountsConfig.ready()."""
    _users.clear()


class RemitOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, configured from OIDC_ISSUER/OIDC_AUDIENCE and discovery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base __init__ requires a dozen OIDC_* settings; everything here comes from discovery.
        self.UserModel = get_user_model()

    # Upper-case names: these replace the attributes the base class would have read from settings.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return current_verifier().endpoint("token_endpoint")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_AUDIENCE

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return getattr(settings, "OIDC_CLIENT_SECRET", "")

    def verify_access_token(self, access_token: str) -> TokenIdentity:
        """Raises InvalidToken or IdentityProviderUnavailable."""
        return current_verifier().verify(access_token)

    def user_for(self, identity: TokenIdentity) -> AbstractBaseUser:
        """The user named by the subject, created on first sight; InvalidToken if inactive."""
        user = _users.get(identity.subject)
        if user is None:
            user, _ = self.UserModel.objects.get_or_create(
                username=identity.subject, defaults={"password": make_password(None)}
            )
            _users.put(identity.subject, user)
        if not user.is_active:
            raise InvalidToken("the user is deactivated")
        _people.keep_current(user, identity)
        return user

    def get_or_create_user(
        self, access_token: str, id_token: str | None, payload: dict[str, Any] | None
    ) -> AbstractBaseUser | None:
        """A bearer call (no id_token) or an admin sign-in, which only the ops role passes."""
        identity = self.verify_access_token(access_token)
        if id_token is None:
            return self.user_for(identity)
        if payload is None or payload.get("sub") != identity.subject:
            raise InvalidToken("the ID token and the access token name different users")
        return self._admin_user(identity)

    def _admin_user(self, identity: TokenIdentity) -> AbstractBaseUser | None:
        user = self.user_for(identity)
        if user.is_staff != identity.is_ops:
            user.is_staff = identity.is_ops
            user.save(update_fields=["is_staff"])
        if not identity.is_ops:
            logger.info("admin sign-in refused: %s lacks the ops role", identity.subject)
            return None
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Verify an ID token of the admin sign-in, including its nonce."""
        claims = current_verifier().verify(token, kind="ID").claims
        if self.get_settings("OIDC_USE_NONCE", True) and claims.get("nonce") != kwargs.get("nonce"):
            raise InvalidToken("the ID token's nonce does not match the sign-in")
        return claims

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Exchange the authorization code; a public client sends no secret."""
        if not payload.get("client_secret"):
            payload.pop("client_secret", None)
        try:
            response = requests.post(
                self.OIDC_OP_TOKEN_ENDPOINT,
                data=payload,
                timeout=settings.OIDC_HTTP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise IdentityProviderUnavailable() from exc
        self.raise_token_response_error(response)
        return response.json()
