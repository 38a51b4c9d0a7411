"""Events, reversal requests and the audit record in the admin: read-only rows, with the ops actions
(request, approve, decline a reversal) going through the same use cases as the API.

Registered by the composition root (config/admin.py), which hands over the bound use cases (`ops`)
and the panels other apps draw on an event's page (its journal entries, from ledger).
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse

from transfers.admin_kit import (
    ExactSearch,
    caller_of_admin,
    link,
    money,
    person_name,
    run_action,
    short,
    when,
)
from transfers.models import AuditRecord, Event, ReversalRequest
from web.readonly_admin import ReadOnlyAdmin


class EventAdmin(ExactSearch, ReadOnlyAdmin):
    ops = None  # config.bootstrap.Api: the use cases, bound by the composition root
    event_panels: tuple = ()  # callables (request, event) -> HTML, from other apps

    list_display = (
        "event",
        "accepted",
        "type",
        "status",
        "reason",
        "amount_shown",
        "account_link",
        "counterparty_link",
        "reference",
        "requester",
    )
    list_filter = ("type", "status", "reason", ("created_at", admin.DateFieldListFilter), "currency")
    uuid_search_fields = ("event_id", "account_id", "counterparty_id", "reverses_id")
    text_search_fields = ("reference", "requested_by__person__preferred_username", "requested_by__username")
    search_help_text = "An event id, an account id, a reference, or the username who requested it."
    ordering = ("-seq",)
    show_full_result_count = False
    list_select_related = ("requested_by", "requested_by__person")

    @admin.display(description="event", ordering="seq")
    def event(self, obj: Event) -> str:
        return link("transfers.event", obj.event_id, str(obj.event_id))

    @admin.display(description="accepted", ordering="seq")
    def accepted(self, obj: Event) -> str:
        return when(obj.created_at)

    @admin.display(description="amount")
    def amount_shown(self, obj: Event) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="account (from)")
    def account_link(self, obj: Event) -> str:
        return link("accounts.account", obj.account_id, short(obj.account_id))

    @admin.display(description="counterparty (to)")
    def counterparty_link(self, obj: Event) -> str:
        return link("accounts.account", obj.counterparty_id, short(obj.counterparty_id))

    @admin.display(description="requested by")
    def requester(self, obj: Event) -> str:
        return link("auth.user", obj.requested_by_id, person_name(obj.requested_by))

    def get_object(self, request, object_id, from_field=None):
        """Events are addressed by their public id, as everywhere else."""
        try:
            return self.get_queryset(request).get(event_id=uuid.UUID(str(object_id)))
        except (ValueError, Event.DoesNotExist):
            return None

    def get_urls(self):
        return self.own_urls({"reversal": ("<uuid:event_id>/reversal/", self.request_reversal)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """An event's page: what it is, its accounts, its journal entries, its reversal requests and
        the forms to request, approve or decline one. Reading someone else's event is audited."""
        event = self.get_object(request, object_id)
        if event is None or not self.has_view_permission(request, event):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        caller = caller_of_admin(request)
        self.ops.read_event(caller=caller, event_id=event.event_id)  # audits the read
        requests = ReversalRequest.objects.filter(event_id=event.event_id).select_related(
            "requested_by__person", "decided_by__person", "reversal_event"
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{event.type.capitalize()} {event.event_id}",
            "event": event,
            "amount": money(event.amount, event.currency),
            "account": link("accounts.account", event.account_id),
            "counterparty": link("accounts.account", event.counterparty_id),
            "reverses": link("transfers.event", event.reverses_id),
            "requester": link("auth.user", event.requested_by_id, person_name(event.requested_by)),
            "accepted": when(event.created_at),
            "processed": when(event.processed_at),
            "reversal_requests": [_request_line(r, caller.user_id) for r in requests],
            # The form is offered where the core would take the request (it decides either way).
            "reversible": event.status == "completed"
            and event.type != "reversal"
            and not any(
                r.status == "awaiting_approval"
                or (r.status == "approved" and r.reversal_event and r.reversal_event.status != "rejected")
                for r in requests
            ),
            "reversal_url": reverse("admin:transfers_event_reversal", args=[event.event_id]),
            "panels": [panel(request, event) for panel in self.event_panels],
            "audit_url": reverse("admin:transfers_auditrecord_changelist") + f"?q={event.event_id}",
        }
        return TemplateResponse(request, "admin/remit/event.html", context)

    def request_reversal(self, request, event_id: uuid.UUID):
        return run_action(
            request,
            lambda: (
                self.ops.request_reversal(
                    caller=caller_of_admin(request), event_id=event_id, reason=request.POST.get("reason", "")
                )
                if request.method == "POST"
                else None
            ),
            done="Reversal requested: another ops person must approve it.",
            back=reverse("admin:transfers_event_change", args=[event_id]),
        )


def _request_line(row: ReversalRequest, viewer: int) -> dict:
    return {
        "link": link("transfers.reversalrequest", row.id, short(row.id)),
        "id": row.id,
        "status": row.status,
        "requested_by": person_name(row.requested_by),
        "reason": row.reason,
        "requested_at": when(row.created_at),
        "decided_by": person_name(row.decided_by),
        "decision_reason": row.decision_reason,
        "decided_at": when(row.decided_at),
        "reversal": link("transfers.event", row.reversal_event_id, short(row.reversal_event_id)),
        "reversal_status": row.reversal_event.status if row.reversal_event else "",
        "decidable": row.status == "awaiting_approval",
        "own": row.requested_by_id == viewer,
        "approve_url": reverse("admin:transfers_reversalrequest_approve", args=[row.id]),
        "decline_url": reverse("admin:transfers_reversalrequest_decline", args=[row.id]),
    }


class ReversalRequestAdmin(ExactSearch, ReadOnlyAdmin):
    ops = None  # config.bootstrap.Api

    list_display = (
        "request",
        "requested",
        "status",
        "event_link",
        "requested_by_name",
        "reason",
        "decided_by_name",
        "reversal",
    )
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    uuid_search_fields = ("id", "event_id", "reversal_event_id")
    text_search_fields = (
        "requested_by__person__preferred_username",
        "decided_by__person__preferred_username",
    )
    list_select_related = ("requested_by__person", "decided_by__person")
    ordering = ("-created_at",)

    @admin.display(description="request")
    def request(self, obj: ReversalRequest) -> str:
        return link("transfers.reversalrequest", obj.id, short(obj.id))

    @admin.display(description="requested", ordering="created_at")
    def requested(self, obj: ReversalRequest) -> str:
        return when(obj.created_at)

    @admin.display(description="event")
    def event_link(self, obj: ReversalRequest) -> str:
        return link("transfers.event", obj.event_id, short(obj.event_id))

    @admin.display(description="requested by")
    def requested_by_name(self, obj: ReversalRequest) -> str:
        return link("auth.user", obj.requested_by_id, person_name(obj.requested_by))

    @admin.display(description="decided by")
    def decided_by_name(self, obj: ReversalRequest) -> str:
        return link("auth.user", obj.decided_by_id, person_name(obj.decided_by)) if obj.decided_by_id else ""

    @admin.display(description="reversal event")
    def reversal(self, obj: ReversalRequest) -> str:
        return link("transfers.event", obj.reversal_event_id, short(obj.reversal_event_id))

    def get_urls(self):
        return self.own_urls(
            {
                "approve": ("<uuid:request_id>/approve/", self.approve),
                "decline": ("<uuid:request_id>/decline/", self.decline),
            }
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = ReversalRequest.objects.filter(id=object_id).first() if _is_uuid(object_id) else None
        if row is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        from django.http import HttpResponseRedirect

        return HttpResponseRedirect(reverse("admin:transfers_event_change", args=[row.event_id]))

    def approve(self, request, request_id: uuid.UUID):
        return self._decide(request, request_id, approve=True)

    def decline(self, request, request_id: uuid.UUID):
        return self._decide(request, request_id, approve=False)

    def _decide(self, request, request_id: uuid.UUID, *, approve: bool):
        row = ReversalRequest.objects.filter(id=request_id).first()
        back = (
            reverse("admin:transfers_event_change", args=[row.event_id])
            if row
            else reverse("admin:transfers_reversalrequest_changelist")
        )
        use_case = self.ops.approve_reversal if approve else self.ops.decline_reversal
        return run_action(
            request,
            lambda: (
                use_case(
                    caller=caller_of_admin(request),
                    request_id=request_id,
                    reason=request.POST.get("reason", ""),
                )
                if request.method == "POST"
                else None
            ),
            done="Reversal approved: the worker applies it." if approve else "Reversal declined.",
            back=back,
        )


def _is_uuid(text: object) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


class AuditRecordAdmin(ExactSearch, ReadOnlyAdmin):
    """The append-only audit record: filterable by actor, action, object and date."""

    list_display = ("at_shown", "actor_name", "action", "object_type", "object_link", "reason", "request_id")
    list_filter = (
        "action",
        "object_type",
        ("at", admin.DateFieldListFilter),
        "actor__person__preferred_username",
    )
    text_search_fields = ("object_id", "actor__person__preferred_username", "actor__username", "request_id")
    search_help_text = "An object id (account, event, reversal request), an actor's username, a request id."
    list_select_related = ("actor__person",)
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="when", ordering="id")
    def at_shown(self, obj: AuditRecord) -> str:
        return when(obj.at)

    @admin.display(description="actor")
    def actor_name(self, obj: AuditRecord) -> str:
        return link("auth.user", obj.actor_id, person_name(obj.actor))

    @admin.display(description="object")
    def object_link(self, obj: AuditRecord) -> str:
        model = {
            "account": "accounts.account",
            "event": "transfers.event",
            "reversal": "transfers.reversalrequest",
        }
        return (
            link(model.get(obj.object_type, ""), obj.object_id) if obj.object_type in model else obj.object_id
        )
