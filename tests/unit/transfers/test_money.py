"""Amounts are exact: only the contract's strings parse, and responses write the currency's digits."""

from __future__ import annotations

import pytest

from transfers.domain.errors import InvalidAmount
from transfers.domain.money import Currency, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("15000", Currency.KRW, 15000),
        ("12.50", Currency.USD, 1250),
        ("12.5", Currency.USD, 1250),
        ("0.50", Currency.EUR, 50),
        ("1000000000000000", Currency.JPY, 10**15),
        ("1000000000000000.00", Currency.USD, 10**17),
    ],
)
def test_a_well_formed_amount_becomes_exact_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    "text",
    [
        15000,
        12.5,
        None,
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1e3",
        ".5",
        "5.",
        "007",
        "NaN",
        "Infinity",
        "0",
        "0.00",
        "1,000",
        "1_000",
        "12.5\n",
        "١٢",
        "1000000000000001",
        "10000000000000000",
    ],
)
def test_anything_else_is_refused(text):
    with pytest.raises(InvalidAmount):
        parse_amount(text, Currency.USD)


@pytest.mark.parametrize(("text", "currency"), [("1.5", Currency.KRW), ("1.234", Currency.USD)])
def test_more_fraction_digits_than_the_currency_has_is_refused(text, currency):
    with pytest.raises(InvalidAmount, match="fraction digits"):
        parse_amount(text, currency)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(1250, Currency.USD, "12.50"), (-3_000_000, Currency.KRW, "-3000000"), (5, Currency.EUR, "0.05")],
)
def test_amounts_are_written_with_exactly_the_currency_digits(minor, currency, text):
    assert format_amount(minor, currency) == text


def test_default_daily_limits_follow_the_contract():
    limits = {c.code: format_amount(c.default_daily_limit, c) for c in Currency}
    assert limits == {"KRW": "5000000", "JPY": "500000", "USD": "5000.00", "EUR": "5000.00"}
