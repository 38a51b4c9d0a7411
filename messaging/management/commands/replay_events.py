"""`manage.py replay_events`: send pending events to the worker again (safe: it skips what is applied)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import OutboxMessage
from transfers.domain.model import EventType
from transfers.models import Event, ParkedAccount


class Command(BaseCommand):
    help = (
        "Queue pending events for the worker again, through the outbox: those named, all pending for "
        "longer than --older-than seconds, or (--parked) those of parked accounts, whose parks are "
        "lifted. Events already completed or rejected are never touched."
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
        parser.add_argument(
            "--parked",
            action="store_true",
            help="Lift every park (after fixing what made PostgreSQL refuse the event) and replay the "
            "parked accounts' events in acceptance order.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be replayed.")

    def handle(self, *args, event_ids: list[str], older_than: float | None, parked: bool, dry_run: bool, **_):
        for event_id in event_ids:
            try:
                uuid.UUID(event_id)
            except ValueError:
                raise CommandError(f"not an event id: {event_id!r} (event ids are UUIDs)") from None
        if parked and (event_ids or older_than is not None):
            raise CommandError("--parked goes alone: it replays what the parks held")
        if not (event_ids or older_than is not None or parked):
            raise CommandError("name event ids, or give --older-than SECONDS or --parked")
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A large backlog may take longer than a request may; and the parked accounts' row
                # locks may be held by a worker's batch whose connection was just cut, until
                # PostgreSQL ends it (idle_in_transaction_session_timeout, 10 s): wait, don't fail.
                cursor.execute("SET LOCAL statement_timeout = 0")
                cursor.execute("SET LOCAL lock_timeout = '60s'")
            lifted = _lift_parks(dry_run) if parked else []
            events = Event.objects.filter(status=Event.Status.PENDING)
            if parked:
                events = events.filter(account_id__in=lifted)
            if event_ids:
                events = events.filter(event_id__in=event_ids)
            if older_than is not None:
                events = events.filter(created_at__lt=timezone.now() - dt.timedelta(seconds=older_than))
            events = list(events.order_by("seq"))
            if not dry_run:
                for done in range(0, len(events), _BATCH):
                    OutboxMessage.objects.bulk_create(map(_outbox_message, events[done : done + _BATCH]))
                    if len(events) > _BATCH:  # thousands: say how far it is
                        self.stderr.write(f"queued {min(done + _BATCH, len(events))}/{len(events)}")
        # Listed after the commit: a slow terminal must not hold the transaction open.
        for event in events:
            self.stdout.write(f"{event.event_id} {event.type} {event.created_at.isoformat()}")
        if dry_run:
            self.stdout.write(f"{len(events)} event(s) would be replayed")
            return
        if parked:
            self.stdout.write(f"{len(lifted)} park(s) lifted")
        self.stdout.write(self.style.SUCCESS(f"{len(events)} event(s) queued for replay"))


_BATCH = 1000


def _lift_parks(dry_run: bool) -> list:
    """Lift every park under the parked accounts' row locks, which the worker holds while it reads
    the parks: a batch either saw the park (and its held events are pending now, replayed below)
    or sees none."""
    parks = ParkedAccount.objects.select_related("account").select_for_update(no_key=True, of=("account",))
    accounts = [park.account_id for park in parks.order_by("account_id")]
    if not dry_run:
        ParkedAccount.objects.filter(account_id__in=accounts).delete()
    return accounts


def _outbox_message(event: Event) -> OutboxMessage:
    return OutboxMessage.for_event(
        event_id=event.event_id,
        event_type=EventType(event.type),
        account_id=event.account_id,
        accepted_at=event.created_at,
        request_id=event.request_id,
    )
