"""`manage.py stuck`: what waits and why — parked accounts, old pending events, the outbox, dead letters."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count, Min
from django.utils import timezone
from pika.exceptions import AMQPError

from messaging.connection import connect
from messaging.models import OutboxMessage
from messaging.topology import DEAD_LETTER_QUEUE
from transfers.domain.money import Currency, format_amount
from transfers.models import Event, ParkedAccount


class Command(BaseCommand):
    help = (
        "List what is stuck and why: parked accounts with the event PostgreSQL refused, events pending "
        "for longer than --older-than seconds, the outbox and the dead-letter queue. Exits 1 if "
        "anything is stuck, so monitoring can run it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="A pending event older than this counts as stuck (default 60).",
        )
        parser.add_argument("--limit", type=int, default=20, help="Most events listed per section.")

    def handle(self, *args, older_than: float, limit: int, **options) -> None:
        now = timezone.now()
        stuck = self._parked(limit)
        stuck |= self._old_pending(now - dt.timedelta(seconds=older_than), older_than, limit)
        stuck |= self._outbox(now, older_than)
        stuck |= self._dead_letters()
        if stuck:
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("nothing is stuck"))

    def _parked(self, limit: int) -> bool:
        parks = list(ParkedAccount.objects.order_by("parked_at"))
        if not parks:
            return False
        waiting = dict(
            Event.objects.filter(status=Event.Status.PENDING, account_id__in=[p.account_id for p in parks])
            .values_list("account_id")
            .annotate(Count("seq"))
        )
        self.stdout.write(
            f"{len(parks)} parked account(s): PostgreSQL refused an event's writes; the account's own "
            "events wait behind it. Fix the cause, then run `manage.py replay_events --parked`."
        )
        refused = {e.event_id: e for e in Event.objects.filter(event_id__in=[p.event_id for p in parks])}
        for park in parks[:limit]:
            event = refused.get(park.event_id)
            what = "event"
            if event is not None:
                amount = format_amount(event.amount, Currency.of(event.currency))
                what = f"{event.type} of {amount} {event.currency}"
            self.stdout.write(
                f"  account {park.account_id} parked {park.parked_at.isoformat()}: {what} {park.event_id} "
                f"refused; {waiting.get(park.account_id, 0)} of its events pending, this one first"
            )
            self.stdout.write(f"    {park.error.splitlines()[0] if park.error else ''}")
        return True

    def _old_pending(self, before: dt.datetime, older_than: float, limit: int) -> bool:
        old = Event.objects.filter(status=Event.Status.PENDING, created_at__lt=before).exclude(
            account_id__in=ParkedAccount.objects.values("account_id")
        )
        count = old.count()
        if not count:
            return False
        self.stdout.write(
            f"{count} event(s) pending for more than {older_than:g}s, not behind a park (is the worker of "
            "their shard running? `manage.py replay_events ID` sends one again):"
        )
        for event in old.order_by("seq")[:limit]:
            self.stdout.write(f"  {event.event_id} {event.type} accepted {event.created_at.isoformat()}")
        return True

    def _outbox(self, now: dt.datetime, older_than: float) -> bool:
        outbox = OutboxMessage.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
        if not outbox["count"]:
            return False
        age = (now - outbox["oldest"]).total_seconds()
        self.stdout.write(f"outbox: {outbox['count']} message(s) not yet relayed, the oldest {age:.0f}s old")
        return age > older_than

    def _dead_letters(self) -> bool:
        try:
            broker = connect(settings.RABBITMQ_URL, shards=settings.ACCOUNT_EVENT_SHARDS)
        except (AMQPError, OSError) as exc:
            self.stdout.write(f"dead letters: RabbitMQ cannot be reached ({exc!r})")
            return True
        try:
            count = broker.channel().queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count
        finally:
            broker.close()
        if count:
            self.stdout.write(
                f"dead letters: {count} message(s) in {DEAD_LETTER_QUEUE} (undecodable, or for no event)"
            )
        return bool(count)
