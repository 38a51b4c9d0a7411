"""Stuck work in the admin: parked accounts, events pending too long, the outbox and the dead-letter
queue, with the operator's safe actions (replay a pending event, lift the parks and replay), each
asking for a reason and recorded in the audit.

Registered by the composition root (config/admin.py), which hands over the bound use cases (`ops`).
"""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib import admin, messages
from django.core.management import call_command
from django.db.models import Count, Min
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from pika.exceptions import AMQPError

from messaging.connection import connect
from messaging.dead_letters import take_dead_letters
from messaging.models import DeadLetter, OutboxMessage
from messaging.topology import DEAD_LETTER_QUEUE
from transfers.admin_kit import caller_of_admin, link, money, short, when
from transfers.domain.model import AuditEntry
from transfers.models import Event, ParkedAccount
from web.readonly_admin import ReadOnlyAdmin

DEFAULT_OLDER_THAN = 60


class OutboxMessageAdmin(ReadOnlyAdmin):
    ops = None  # config.bootstrap.Api

    list_display = ("id", "event_link", "event_type", "created")
    ordering = ("id",)
    show_full_result_count = False

    def event_link(self, obj: OutboxMessage) -> str:
        return link("transfers.event", obj.event_id, short(obj.event_id))

    def created(self, obj: OutboxMessage) -> str:
        return when(obj.created_at)

    def get_urls(self):
        return self.own_urls(
            {
                "stuck": ("stuck/", self.stuck),
                "replay": ("stuck/replay/", self.replay),
                "take_dead_letters": ("stuck/take-dead-letters/", self.take_dead_letters),
                "discard": ("stuck/dead-letters/<int:letter_id>/discard/", self.discard),
            }
        )

    def stuck(self, request):
        older_than = request.GET.get("older_than", "")
        seconds = int(older_than) if older_than.isdigit() else DEFAULT_OLDER_THAN
        now = timezone.now()
        parks = list(ParkedAccount.objects.order_by("parked_at")[:100])
        refused = {e.event_id: e for e in Event.objects.filter(event_id__in=[p.event_id for p in parks])}
        old = (
            Event.objects.filter(
                status=Event.Status.PENDING, created_at__lt=now - dt.timedelta(seconds=seconds)
            )
            .exclude(account_id__in=ParkedAccount.objects.values("account_id"))
            .order_by("seq")
        )
        outbox = OutboxMessage.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Stuck work",
            "opts": self.opts,
            "older_than": seconds,
            "parks": [
                {
                    "account": link("accounts.account", p.account_id, short(p.account_id)),
                    "event": link("transfers.event", p.event_id, short(p.event_id)),
                    "what": _what(refused.get(p.event_id)),
                    "error": (p.error or "").splitlines()[0] if p.error else "",
                    "at": when(p.parked_at),
                }
                for p in parks
            ],
            "pending": [
                {
                    "event": link("transfers.event", e.event_id, str(e.event_id)),
                    "event_id": e.event_id,
                    "what": _what(e),
                    "at": when(e.created_at),
                    "age": int((now - e.created_at).total_seconds()),
                }
                for e in old[:100]
            ],
            "pending_count": old.count(),
            "outbox_depth": outbox["count"],
            "outbox_age": int((now - outbox["oldest"]).total_seconds()) if outbox["oldest"] else None,
            "dead_letters": _dead_letter_count(),
            "letters": [
                _letter_line(d)
                for d in DeadLetter.objects.filter(discarded_at__isnull=True).order_by("id")[:100]
            ],
            "take_url": reverse("admin:messaging_outboxmessage_take_dead_letters"),
            "dead_letter_queue": DEAD_LETTER_QUEUE,
            "replay_url": reverse("admin:messaging_outboxmessage_replay"),
        }
        return TemplateResponse(request, "admin/remit/stuck.html", context)

    def replay(self, request):
        """Replay one pending event, or lift every park and replay (safe: the worker skips what is
        final); the reason and what was replayed go into the audit."""
        back = reverse("admin:messaging_outboxmessage_stuck")
        if request.method != "POST":
            return HttpResponseRedirect(back)
        reason = request.POST.get("reason", "").strip()
        event_id = request.POST.get("event_id", "")
        if not reason:
            messages.error(request, "Refused (validation_error): say why (a reason is required).")
            return HttpResponseRedirect(back)
        out = io.StringIO()
        caller = caller_of_admin(request)
        if event_id:
            call_command("replay_events", event_id, stdout=out)
            entry = AuditEntry(caller.user_id, "replay_event", "event", event_id, reason, caller.request_id)
        else:
            call_command("replay_events", parked=True, stdout=out)
            entry = AuditEntry(caller.user_id, "replay_parked", "parks", "all", reason, caller.request_id)
        self.ops.record_audit(entry)
        messages.success(request, out.getvalue().strip().splitlines()[-1] if out.getvalue() else "Done.")
        return HttpResponseRedirect(back)

    def take_dead_letters(self, request):
        """Move the dead-letter queue's messages into the database (each committed before it is
        acknowledged), so that each shows with its event and its reason."""
        back = reverse("admin:messaging_outboxmessage_stuck")
        if request.method == "POST":
            taken = take_dead_letters()
            caller = caller_of_admin(request)
            self.ops.record_audit(
                AuditEntry(
                    caller.user_id, "dead_letters_taken", "dead_letters", str(taken), "", caller.request_id
                )
            )
            messages.success(request, f"{taken} dead letter(s) taken into the database.")
        return HttpResponseRedirect(back)

    def discard(self, request, letter_id: int):
        """Discard a dead letter with a reason: the row stays, marked, and the audit says who and why."""
        back = reverse("admin:messaging_outboxmessage_stuck")
        reason = request.POST.get("reason", "").strip() if request.method == "POST" else ""
        if not reason:
            messages.error(request, "Refused (validation_error): say why (a reason is required).")
            return HttpResponseRedirect(back)
        caller = caller_of_admin(request)
        updated = DeadLetter.objects.filter(id=letter_id, discarded_at__isnull=True).update(
            discarded_at=timezone.now(), discarded_by_id=caller.user_id, discard_reason=reason
        )
        if updated:
            self.ops.record_audit(
                AuditEntry(
                    caller.user_id,
                    "dead_letter_discarded",
                    "dead_letter",
                    str(letter_id),
                    reason,
                    caller.request_id,
                )
            )
            messages.success(request, "Dead letter discarded.")
        return HttpResponseRedirect(back)


def _letter_line(letter: DeadLetter) -> dict:
    return {
        "id": letter.id,
        "event": link("transfers.event", letter.event_id, short(letter.event_id)) if letter.event_id else "",
        "event_id": letter.event_id,
        "reason": letter.reason,
        "broker_reason": letter.broker_reason,
        "body": bytes(letter.body)[:120].decode(errors="replace"),
        "at": when(letter.dead_lettered_at or letter.taken_at),
        "discard_url": reverse("admin:messaging_outboxmessage_discard", args=[letter.id]),
    }


def _what(event: Event | None) -> str:
    return f"{event.type} of {money(event.amount, event.currency)}" if event else "event"


def _dead_letter_count() -> int | str:
    """The dead-letter queue's depth, read without touching its messages (a quorum queue counts every
    return of a message toward its delivery limit, so the admin never takes one out to look)."""
    try:
        broker = connect(settings.RABBITMQ_URL, shards=settings.ACCOUNT_EVENT_SHARDS)
    except (AMQPError, OSError) as exc:
        return f"unknown: RabbitMQ cannot be reached ({exc.__class__.__name__})"
    try:
        return broker.channel().queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count
    finally:
        broker.close()


class DeadLetterAdmin(ReadOnlyAdmin):
    """Dead letters taken into the database, discarded or not (the stuck page acts on them)."""

    list_display = ("id", "event_link", "reason", "broker_reason", "dead_lettered", "discarded")
    list_filter = ("broker_reason", ("discarded_at", admin.EmptyFieldListFilter))
    ordering = ("-id",)

    @admin.display(description="event")
    def event_link(self, obj: DeadLetter) -> str:
        return link("transfers.event", obj.event_id, short(obj.event_id)) if obj.event_id else ""

    @admin.display(description="dead-lettered")
    def dead_lettered(self, obj: DeadLetter) -> str:
        return when(obj.dead_lettered_at or obj.taken_at)

    @admin.display(description="discarded")
    def discarded(self, obj: DeadLetter) -> str:
        return f"{when(obj.discarded_at)}: {obj.discard_reason}" if obj.discarded_at else ""
