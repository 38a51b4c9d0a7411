"""Currencies and amounts: exact integers of minor units, parsed only from the contract's strict strings."""

from __future__ import annotations

import enum
import re
from decimal import Decimal

from transfers.domain.errors import InvalidAmount

_AMOUNT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
MAX_MAJOR_UNITS = 10**15


class Currency(enum.Enum):
    """A supported currency, its fraction digits and its default daily limit in major units."""

    KRW = ("KRW", 0, 5_000_000)
    JPY = ("JPY", 0, 500_000)
    USD = ("USD", 2, 5_000)
    EUR = ("EUR", 2, 5_000)

    def __init__(self, code: str, digits: int, default_daily_limit_major: int) -> None:
        self.code = code
        self.digits = digits
        self.default_daily_limit = default_daily_limit_major * 10**digits

    @property
    def max_amount(self) -> int:
        """The largest amount or balance, in minor units: 10^15 major units."""
        return MAX_MAJOR_UNITS * 10**self.digits

    @property
    def max_daily_limit(self) -> int:
        return 100 * self.default_daily_limit

    def to_major(self, minor: int) -> Decimal:
        return Decimal(minor).scaleb(-self.digits)

    @classmethod
    def of(cls, code: object) -> Currency:
        if isinstance(code, str) and code in cls.__members__:
            return cls[code]
        raise InvalidAmount(f"unsupported currency; one of {', '.join(cls.__members__)}", field="currency")


def parse_decimal(text: object) -> Decimal:
    """Read a positive amount written as the contract's JSON string, before its currency is known.

    Raises InvalidAmount for numbers, signs, spaces, exponents, leading zeros, "NaN" and zero.
    """
    if not isinstance(text, str):
        raise InvalidAmount('must be a string such as "12.50"')
    if _AMOUNT.fullmatch(text) is None:
        raise InvalidAmount('must be a plain decimal string such as "12.50"')
    if len(text.partition(".")[0]) > 16:
        raise InvalidAmount("must be at most 10^15 major units")
    value = Decimal(text)
    if value == 0:
        raise InvalidAmount("must be greater than zero")
    return value


def to_minor(value: Decimal, currency: Currency, *, field: str = "amount") -> int:
    """Minor units of an amount in a currency; raises InvalidAmount (under `field`) past its
    digits or 10^15 units."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > currency.digits:
        raise InvalidAmount(f"{currency.code} allows at most {currency.digits} fraction digits", field=field)
    minor = int(value.scaleb(currency.digits))
    if minor > currency.max_amount:
        raise InvalidAmount("must be at most 10^15 major units", field=field)
    return minor


def parse_amount(text: object, currency: Currency) -> int:
    """Minor units of an amount string in a known currency; raises InvalidAmount."""
    return to_minor(parse_decimal(text), currency)


def format_amount(minor: int, currency: Currency) -> str:
    """Write minor units with exactly the currency's fraction digits: "12.50", "-30000"."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**currency.digits)
    if currency.digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{currency.digits}d}"


def format_money(minor: int, currency: Currency) -> str:
    """Amounts as people read them: thousands grouped, the currency after it ("2,500.00 USD")."""
    minor = int(minor)  # a SQL sum arrives as a Decimal
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**currency.digits)
    digits = f".{fraction:0{currency.digits}d}" if currency.digits else ""
    return f"{sign}{whole:,}{digits} {currency.code}"
