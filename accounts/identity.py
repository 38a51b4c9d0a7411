"""Who is calling: the verified claims of an access token, as DRF's `request.auth`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPS_ROLE = "ops"


@dataclass(frozen=True)
class TokenIdentity:
    subject: str
    roles: frozenset[str]
    # Excluded from hashing because a dict cannot be hashed; subject and roles identify the caller.
    claims: dict[str, Any] = field(hash=False, repr=False)

    @property
    def is_ops(self) -> bool:
        return OPS_ROLE in self.roles

    def profile(self) -> tuple[str, str, str, str, str]:
        """(preferred_username, name, email, given_name, family_name) as the token says, "" if absent."""

        def claim(name: str, limit: int) -> str:
            value = self.claims.get(name)
            return value[:limit] if isinstance(value, str) else ""

        given, family = claim("given_name", 150), claim("family_name", 150)
        name = claim("name", 300) or " ".join(part for part in (given, family) if part)
        return claim("preferred_username", 150), name, claim("email", 254), given, family

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> TokenIdentity:
        """Build from verified claims; roles are Keycloak's `realm_access.roles`."""
        return cls(subject=claims["sub"], roles=_realm_roles(claims), claims=claims)


def _realm_roles(claims: dict[str, Any]) -> frozenset[str]:
    realm_access = claims.get("realm_access")
    roles = realm_access.get("roles") if isinstance(realm_access, dict) else None
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(role for role in roles if isinstance(role, str))
