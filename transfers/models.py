"""Accepted events, per-day limit usage and idempotency keys, as PostgreSQL rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from transfers.domain.model import EventStatus, EventType, ReversalStatus


class Event(models.Model):
    """A movement the API accepted; `seq` is its acceptance order, `event_id` its public id."""

    Type = models.TextChoices("Type", [(t.name, t.value) for t in EventType])
    Status = models.TextChoices("Status", [(s.name, s.value) for s in EventStatus])

    seq = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, editable=False)
    type = models.CharField(max_length=10, choices=Type.choices)
    status = models.CharField(max_length=9, choices=Status.choices, default=EventStatus.PENDING)
    reason = models.CharField(max_length=32, null=True, blank=True)
    # Foreign keys carry no index of their own where a composite index below starts with them:
    # every index is written on each accept and each apply.
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.PROTECT,
        db_index=False,
        related_name="events",
        help_text="The account of a deposit or withdrawal; a transfer's sender.",
    )
    counterparty = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="incoming_events",
        help_text="A transfer's receiver.",
    )
    amount = models.BigIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=140, blank=True, default="")
    memo = models.CharField(max_length=140, blank=True, default="")
    business_date = models.DateField(help_text="The day (in TIME_ZONE) it counts toward the limit.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, db_index=False)
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(
        max_length=200, blank=True, db_default="", help_text="X-Request-ID of the request that created it."
    )
    reverses = models.ForeignKey(
        "self",
        to_field="event_id",
        db_column="reverses",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="reversals",
        help_text="A reversal's original event.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["account", "-seq"], name="event_account_newest"),
            models.Index(fields=["counterparty", "-seq"], name="event_counterparty_newest"),
            models.Index(
                fields=["account", "seq"], condition=Q(status="pending"), name="event_pending_by_account"
            ),
            # Admission control's oldest pending event, in a few index entries at any backlog.
            models.Index(fields=["seq"], condition=Q(status="pending"), name="event_pending_oldest"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="event_amount_positive"),
            models.CheckConstraint(
                condition=Q(type__in=["transfer", "reversal"], counterparty__isnull=False)
                | (~Q(type__in=["transfer", "reversal"]) & Q(counterparty__isnull=True)),
                name="event_counterparty_on_transfers_and_reversals",
            ),
            models.CheckConstraint(
                condition=Q(type="reversal", reverses__isnull=False)
                | (~Q(type="reversal") & Q(reverses__isnull=True)),
                name="event_reverses_only_on_reversals",
            ),
            # The database's own guard against reversing an event twice: one reversal that is not
            # rejected per event.
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False) & ~Q(status="rejected"),
                name="one_live_reversal_per_event",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", reason__isnull=True, processed_at__isnull=True)
                | Q(status="completed", reason__isnull=True, processed_at__isnull=False)
                | Q(status="rejected", reason__isnull=False, processed_at__isnull=False),
                name="event_outcome_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.status})"


class LimitUsage(models.Model):
    """An account's outgoing money on one business day: completed (`used`) and `pending`."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    business_date = models.DateField()
    used = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "business_date"], name="one_usage_per_day"),
            models.CheckConstraint(condition=Q(used__gte=0, pending__gte=0), name="usage_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account"], condition=Q(pending__gt=0), name="usage_with_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.business_date}: used {self.used}, pending {self.pending}"


class IdempotencyRecord(models.Model):
    """An Idempotency-Key whose request was accepted (only 202 answers are remembered)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=300, help_text="Method and path.")
    key = models.CharField(max_length=255)
    fingerprint = models.TextField()
    event_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="one_record_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key!r}"


class ParkedAccount(models.Model):
    """An account whose own events wait because PostgreSQL refused the writes of one of them.

    The worker parks the account instead of stopping; `replay_events --parked` lifts the park once
    the cause is fixed and sends the waiting events again, in acceptance order.
    """

    account = models.OneToOneField(
        "accounts.Account", primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    event_id = models.UUIDField(help_text="The event whose writes were refused.")
    error = models.TextField(help_text="What PostgreSQL answered.")
    parked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id} parked at {self.event_id}"


class ReversalRequest(models.Model):
    """An ops request to reverse a completed event; another ops person approves or declines it."""

    Status = models.TextChoices("Status", [(s.name, s.value) for s in ReversalStatus])

    id = models.UUIDField(primary_key=True, editable=False)
    event = models.ForeignKey(
        Event, to_field="event_id", on_delete=models.PROTECT, related_name="reversal_requests"
    )
    status = models.CharField(max_length=17, choices=Status.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    reversal_event = models.OneToOneField(
        Event,
        to_field="event_id",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_request",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(status="awaiting_approval"), name="one_open_reversal_request"
            ),
            # Four eyes, kept by the database too.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                name="reversal_decided_by_another",
            ),
            models.CheckConstraint(
                condition=Q(status="awaiting_approval", decided_by__isnull=True, reversal_event__isnull=True)
                | Q(status="approved", decided_by__isnull=False, reversal_event__isnull=False)
                | Q(status="declined", decided_by__isnull=False, reversal_event__isnull=True),
                name="reversal_request_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"reversal of {self.event_id} ({self.status})"


class AuditRecord(models.Model):
    """What ops did and read: append-only (a trigger refuses UPDATE and DELETE, as on the journal)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=20)
    object_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["actor", "-id"], name="audit_actor_newest"),
            models.Index(fields=["object_id", "-id"], name="audit_object_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"
