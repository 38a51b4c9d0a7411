"""Stuck work in the admin: parked accounts, events pending too long, the outbox and the dead-letter
queue, with the operator's safe actions (replay a pending event, lift the parks and replay), each
asking for a reason and recorded in the audit.

Registered by the composition root (config/admin.py), which hands over the bound use cases (`ops`).
"""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings
from django.contrib import messages
from django.core.management import call_command
from django.db.models import Count, Min
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from pika.exceptions import AMQPError

from messaging.connection import connect
from messaging.models import OutboxMessage
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
        own = [
            path("stuck/", self.admin_site.admin_view(self.stuck), name="messaging_outboxmessage_stuck"),
            path(
                "stuck/replay/",
                self.admin_site.admin_view(self.replay),
                name="messaging_outboxmessage_replay",
            ),
        ]
        return own + super().get_urls()

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
