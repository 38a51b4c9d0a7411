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
