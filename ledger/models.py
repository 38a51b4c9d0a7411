"""The double-entry journal: append-only entries, grouped into transactions that each sum to zero."""

from __future__ import annotations

from django.db import models

from transfers.domain.model import EntryType


class Entry(models.Model):
    """One line of a journal transaction; `transaction_id` is the id of the event that made it."""

    Type = models.TextChoices("Type", [(t.name, t.value) for t in EntryType])

    id = models.BigAutoField(primary_key=True)
    transaction_id = models.UUIDField(db_index=True)
    # No index per foreign key: (account, -id) below serves the account's lookups, and every index
    # costs a write per journal row.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    type = models.CharField(max_length=12, choices=Type.choices)
    amount = models.BigIntegerField(help_text="Signed minor units.")
    balance_after = models.BigIntegerField(null=True, help_text="Null on settlement accounts.")
    counterparty = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        indexes = [models.Index(fields=["account", "-id"], name="entry_account_newest")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} on {self.account_id}"
