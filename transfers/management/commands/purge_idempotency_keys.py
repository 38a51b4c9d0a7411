"""`manage.py purge_idempotency_keys`: delete Idempotency-Key records past their 24-hour window."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from transfers.adapters.acceptance_store import IDEMPOTENCY_WINDOW
from transfers.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than their 24-hour window (run it daily, e.g. from cron)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            # A day's keys can take longer to delete than any request may run (README "Timeouts").
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = 0")
            deleted, _ = IdempotencyRecord.objects.filter(
                created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
            ).delete()
        self.stdout.write(f"{deleted} expired idempotency key(s) deleted")
