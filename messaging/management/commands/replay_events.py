"""`manage.py replay_events`: send pending events to the worker again (safe: it skips what is applied)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from messaging.models import OutboxMessage
from transfers.domain.model import EventType
from transfers.models import Event


class Command(BaseCommand):
    help = (
        "Queue pending events for the worker again, through the outbox: those named, or all pending "
        "for longer than --older-than seconds. Events already completed or rejected are never touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("event_ids", nargs="*", help="Event ids to replay.")
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Replay every event pending for longer than this.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be replayed.")

    def handle(self, *args, event_ids: list[str], older_than: float | None, dry_run: bool, **options):
        if not event_ids and older_than is None:
            raise CommandError("name event ids, or give --older-than SECONDS")
        events = Event.objects.filter(status=Event.Status.PENDING)
        if event_ids:
            events = events.filter(event_id__in=event_ids)
        if older_than is not None:
            events = events.filter(created_at__lt=timezone.now() - dt.timedelta(seconds=older_than))
        events = list(events.order_by("seq"))
        for event in events:
            self.stdout.write(f"{event.event_id} {event.type} {event.created_at.isoformat()}")
        if dry_run:
            self.stdout.write(f"{len(events)} event(s) would be replayed")
            return
        with transaction.atomic():
            OutboxMessage.objects.bulk_create(_outbox_message(event) for event in events)
        self.stdout.write(self.style.SUCCESS(f"{len(events)} event(s) queued for replay"))


def _outbox_message(event: Event) -> OutboxMessage:
    return OutboxMessage.for_event(
        event_id=event.event_id,
        event_type=EventType(event.type),
        account_id=event.account_id,
        counterparty_id=event.counterparty_id,
        amount=event.amount,
        currency=event.currency,
    )
