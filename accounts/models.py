"""The account record: owner, currency, balance projection and daily limit, guarded by the database."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from transfers.domain.model import AccountStatus
from transfers.domain.money import Currency

CURRENCY_CHOICES = [(c.code, c.code) for c in Currency]


def _balance_within_max() -> Q:
    """No customer balance above 10^15 major units, whatever the currency's fraction digits."""
    return Q(kind="settlement") | Q(
        *[Q(currency=c.code, balance__lte=c.max_amount) for c in Currency], _connector=Q.OR
    )


class Account(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        # The bank's counterpart of deposits and withdrawals, one per currency; its position is
        # the sum of its journal entries (no balance column, so it is never a hot row).
        SETTLEMENT = "settlement"

    class Status(models.TextChoices):
        ACTIVE = AccountStatus.ACTIVE.value
        FROZEN = AccountStatus.FROZEN.value
        CLOSED = AccountStatus.CLOSED.value

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CUSTOMER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    balance = models.BigIntegerField(default=0, help_text="Minor units.")
    daily_limit = models.BigIntegerField(help_text="Minor units of outgoing money per day.")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["owner", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=_balance_within_max(), name="account_balance_within_max"),
            models.CheckConstraint(condition=Q(daily_limit__gt=0), name="account_daily_limit_positive"),
            models.CheckConstraint(
                condition=Q(kind="settlement", owner__isnull=True) | Q(kind="customer", owner__isnull=False),
                name="account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(kind="settlement"),
                name="one_settlement_account_per_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.currency} {self.id}"


class Person(models.Model):
    """Who a user is, as their identity provider says: the token claims `preferred_username`,
    `name` and `email`, kept current on each sign-in or token (the user's username is the subject)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="person"
    )
    preferred_username = models.CharField(max_length=150, db_index=True, blank=True, default="")
    name = models.CharField(max_length=300, blank=True, default="")
    email = models.CharField(max_length=300, db_index=True, blank=True, default="")

    def __str__(self) -> str:
        return self.preferred_username or self.user_id
