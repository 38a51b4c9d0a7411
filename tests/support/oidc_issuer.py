"""A tiny OIDC issuer on loopback for tests: discovery, JWKS, authorization code, minted tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

REALM_PATH = "/realms/test"
OIDC_PATH = f"{REALM_PATH}/protocol/openid-connect"
TOKEN_LIFETIME_SECONDS = 300


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, algorithm: str) -> SigningKey:
        if algorithm == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
        else:
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=secrets.token_hex(8), algorithm=algorithm, private_key=private_key)

    def public_jwk(self) -> dict[str, Any]:
        codec = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        jwk = codec.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class LoopbackIssuer:
    """An identity provider in a thread on 127.0.0.1: what Keycloak does, minus everything else."""

    def __init__(self, *, audience: str) -> None:
        self.audience = audience
        self.rsa_key = SigningKey.generate("RS256")
        self.ec_key = SigningKey.generate("ES256")
        self._published = [self.rsa_key, self.ec_key]
        self._port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._codes: dict[str, dict[str, Any]] = {}
        self._signed_in: tuple[str, tuple[str, ...]] | None = None
        self.jwks_requests = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}{REALM_PATH}"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None

    @contextmanager
    def offline(self) -> Iterator[None]:
        """Nothing listens on the issuer's port inside the block; it serves again after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def rotate_key(self) -> SigningKey:
        """Publish a new RSA key beside the old one and sign with it from now on."""
        self.rsa_key = SigningKey.generate("RS256")
        self._published.append(self.rsa_key)
        return self.rsa_key

    def withdraw_key(self, key: SigningKey) -> None:
        """Stop publishing a key, as a provider does with one that leaked."""
        self._published.remove(key)

    def claims(self, sub: str, roles: Iterable[str] = ()) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.audience,
            "azp": self.audience,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "typ": "Bearer",
            "preferred_username": sub,
            "realm_access": {"roles": list(roles)},
        }

    def token(
        self,
        sub: str,
        roles: Iterable[str] = (),
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        without: Iterable[str] = (),
        **claim_overrides: Any,
    ) -> str:
        """A token signed by `key` (default: the current RSA key) under `kid` (default: its own)."""
        key = key or self.rsa_key
        claims = {**self.claims(sub, roles), **claim_overrides}
        for name in without:
            del claims[name]
        headers = {"kid": kid or key.kid}
        return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)

    def es256_token(self, sub: str, roles: Iterable[str] = ()) -> str:
        return self.token(sub, roles, key=self.ec_key)

    def expired_token(self, sub: str, *, seconds_ago: int = 3600) -> str:
        now = int(time.time())
        return self.token(sub, iat=now - seconds_ago - 60, exp=now - seconds_ago)

    def forged_token(self, sub: str) -> str:
        """Claims the published RSA key's kid, but is signed by another key."""
        return self.token(sub, key=SigningKey.generate("RS256"), kid=self.rsa_key.kid)

    def unknown_kid_token(self, sub: str) -> str:
        """Signed by a key the issuer never published."""
        return self.token(sub, key=SigningKey.generate("RS256"))

    def alg_none_token(self, sub: str) -> str:
        header = {"alg": "none", "typ": "JWT", "kid": self.rsa_key.kid}
        return _unsigned_token(header, self.claims(sub))

    def hs256_confused_token(self, sub: str) -> str:
        """HMAC-signed with the public key's PEM as the secret, the classic algorithm confusion."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.rsa_key.kid}
        signing_input = _unsigned_token(header, self.claims(sub)).rstrip(".")
        digest = hmac.new(self.rsa_key.public_pem(), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_b64url(digest.digest())}"

    def sign_in_as(self, sub: str, roles: Iterable[str] = ()) -> None:
        """The user whom the authorization endpoint signs in, as if they had typed a password."""
        self._signed_in = (sub, tuple(roles))

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.base_url}{OIDC_PATH}/certs",
            "authorization_endpoint": f"{self.base_url}{OIDC_PATH}/auth",
            "token_endpoint": f"{self.base_url}{OIDC_PATH}/token",
        }

    def jwks(self) -> dict[str, Any]:
        self.jwks_requests += 1
        return {"keys": [key.public_jwk() for key in self._published]}

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect back to the client, carrying a code for the signed-in user."""
        assert self._signed_in is not None, "call sign_in_as() first"
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "user": self._signed_in,
            "client_id": query["client_id"],
            "redirect_uri": query["redirect_uri"],
            "nonce": query.get("nonce"),
        }
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def exchange_code(self, form: dict[str, str]) -> dict[str, Any] | None:
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return None
        sub, roles = grant["user"]
        id_claims = {"aud": grant["client_id"], "nonce": grant["nonce"], "typ": "ID"}
        return {
            "access_token": self.token(sub, roles),
            "id_token": self.token(sub, roles, **id_claims),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }


def _handler_for(issuer: LoopbackIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == f"{REALM_PATH}/.well-known/openid-configuration":
                self._send_json(200, issuer.discovery())
            elif url.path == f"{OIDC_PATH}/certs":
                self._send_json(200, issuer.jwks())
            elif url.path == f"{OIDC_PATH}/auth":
                query = {name: values[0] for name, values in parse_qs(url.query).items()}
                self.send_response(302)
                self.send_header("Location", issuer.authorize(query))
                self.end_headers()
            else:
                self._send_json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {name: values[0] for name, values in parse_qs(body).items()}
            if urlsplit(self.path).path != f"{OIDC_PATH}/token":
                self._send_json(404, {"error": "not_found"})
            elif form.get("grant_type") != "authorization_code":
                self._send_json(400, {"error": "unsupported_grant_type"})
            elif (tokens := issuer.exchange_code(form)) is None:
                self._send_json(400, {"error": "invalid_grant"})
            else:
                self._send_json(200, tokens)

        def _send_json(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    parts = (json.dumps(part, separators=(",", ":")).encode() for part in (header, claims))
    return ".".join(_b64url(part) for part in parts) + "."
