"""Request fields with the contract's strict rules, shared by the account and movement endpoints."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from transfers.domain.errors import InvalidAmount
from transfers.domain.money import parse_decimal


@extend_schema_field({"type": "string", "pattern": r"^(0|[1-9][0-9]*)(\.[0-9]+)?$", "example": "12.50"})
class AmountField(serializers.Field):
    """A positive amount as a JSON string; numbers, signs, spaces and exponents are refused."""

    def to_internal_value(self, data: object) -> Decimal:
        try:
            return parse_decimal(data)
        except InvalidAmount as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: object) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.STR)
class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string (no numbers coerced), kept as sent."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID that must arrive as a JSON string (DRF would read the number 42 as a UUID)."""

    def to_internal_value(self, data: object):
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a UUID string")
        return super().to_internal_value(data)
