"""Accounts and users in the admin: an account page an ops person can work from, read-only money.

Registered by the composition root (config/admin.py), which hands over the bound use cases
(`ops`) and the panels other apps draw on an account's page (its ledger and chart, from ledger).
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import Account
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
from transfers.models import Event
from web.readonly_admin import ReadOnlyAdmin, ReadOnlyPermissions

RECENT_EVENTS = 10


class AccountAdmin(ExactSearch, ReadOnlyAdmin):
    ops = None  # config.bootstrap.Api: the use cases, bound by the composition root
    account_panels: tuple = ()  # callables (request, account) -> HTML, from other apps

    list_display = ("account", "owner_name", "kind", "currency", "balance_shown", "status", "opened")
    list_filter = ("kind", "currency", "status")
    list_select_related = ("owner", "owner__person")
    show_full_result_count = False
    uuid_search_fields = ("id",)
    text_search_fields = (
        "owner__person__preferred_username",
        "owner__person__email",
        "owner__person__name",
        "owner__username",
    )
    search_help_text = "A username, email, name or account id."

    @admin.display(description="account", ordering="id")
    def account(self, obj: Account) -> str:
        return link("accounts.account", obj.id, str(obj.id))

    @admin.display(description="owner", ordering="owner__person__preferred_username")
    def owner_name(self, obj: Account) -> str:
        if obj.owner is None:
            return "(the bank: settlement)"
        return link("auth.user", obj.owner_id, person_name(obj.owner))

    @admin.display(description="balance", ordering="balance")
    def balance_shown(self, obj: Account) -> str:
        if obj.kind == Account.Kind.SETTLEMENT:
            return format_html('<a href="{}">position</a>', reverse("admin:ledger_entry_position"))
        return money(obj.balance, obj.currency)

    @admin.display(description="opened", ordering="created_at")
    def opened(self, obj: Account) -> str:
        return when(obj.created_at)

    def get_urls(self):
        return self.own_urls(
            {
                "freeze": ("<uuid:account_id>/freeze/", self.freeze),
                "unfreeze": ("<uuid:account_id>/unfreeze/", self.unfreeze),
            }
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The account page: owner, status, balances, limit, recent events, then the other apps'
        panels (ledger, chart); reading someone else's account is recorded in the audit."""
        try:
            account_id = uuid.UUID(str(object_id))
        except ValueError:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        row = Account.objects.select_related("owner", "owner__person").filter(id=account_id).first()
        if row is None or not self.has_view_permission(request, row):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        caller = caller_of_admin(request)
        figures = None
        if row.kind == Account.Kind.CUSTOMER:
            self.ops.read_account(caller=caller, account_id=account_id, what="account_page")
            figures = self.ops.limit_figures(account_ids=[account_id])[account_id]
        # The newest of each side by its own index, then merged: an OR would sort every event.
        sent = Event.objects.filter(account_id=account_id).order_by("-seq")[:RECENT_EVENTS]
        received = Event.objects.filter(counterparty_id=account_id).order_by("-seq")[:RECENT_EVENTS]
        events = sorted([*sent, *received], key=lambda e: -e.seq)[:RECENT_EVENTS]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Account {row.id}",
            "subtitle": None,
            "account": row,
            "owner": row.owner,
            "owner_name": person_name(row.owner) if row.owner else "(the bank: settlement)",
            "owner_link": link("auth.user", row.owner_id, person_name(row.owner)) if row.owner else "",
            "balance": money(row.balance, row.currency),
            "available": money(row.balance - figures.pending_out, row.currency) if figures else "",
            "limit": money(row.daily_limit, row.currency),
            "used": money(figures.used, row.currency) if figures else "",
            "pending": money(figures.pending, row.currency) if figures else "",
            "remaining": money(figures.remaining(row.daily_limit), row.currency) if figures else "",
            "opened": when(row.created_at),
            "closed": when(row.closed_at),
            "events": [_event_line(e, account_id) for e in events],
            "all_events_url": reverse("admin:transfers_event_changelist") + f"?q={account_id}",
            "panels": [panel(request, row) for panel in self.account_panels],
            "freeze_url": reverse("admin:accounts_account_freeze", args=[row.id]),
            "unfreeze_url": reverse("admin:accounts_account_unfreeze", args=[row.id]),
            "audit_url": reverse("admin:transfers_auditrecord_changelist") + f"?q={row.id}",
            "is_customer": row.kind == Account.Kind.CUSTOMER,
        }
        return TemplateResponse(request, "admin/remit/account.html", context)

    def freeze(self, request, account_id: uuid.UUID):
        return self._set_frozen(request, account_id, frozen=True)

    def unfreeze(self, request, account_id: uuid.UUID):
        return self._set_frozen(request, account_id, frozen=False)

    def _set_frozen(self, request, account_id: uuid.UUID, *, frozen: bool):
        back = reverse("admin:accounts_account_change", args=[account_id])
        if request.method != "POST":
            return run_action(request, lambda: None, done="Nothing done: use the form.", back=back)
        return run_action(
            request,
            lambda: self.ops.set_account_frozen(
                caller=caller_of_admin(request),
                account_id=account_id,
                frozen=frozen,
                reason=request.POST.get("reason", ""),
            ),
            done="Account frozen." if frozen else "Account unfrozen.",
            back=back,
        )


def _event_line(event: Event, account_id: uuid.UUID) -> dict:
    other = event.counterparty_id if event.account_id == account_id else event.account_id
    return {
        "link": link("transfers.event", event.event_id, short(event.event_id)),
        "type": event.type,
        "status": event.status,
        "reason": event.reason or "",
        "amount": money(event.amount, event.currency),
        "direction": "out" if event.account_id == account_id and event.type != "deposit" else "in",
        "other": link("accounts.account", other, short(other)) if other else "",
        "when": when(event.created_at),
    }


class PersonAdmin(ExactSearch, ReadOnlyPermissions, UserAdmin):
    """Users as the identity provider names them; read-only (the provider is where they change)."""

    list_display = ("username_shown", "name", "email_shown", "is_staff", "last_login_shown", "accounts")
    list_filter = ("is_staff", "is_active")
    list_select_related = ("person",)
    uuid_search_fields = ()
    text_search_fields = ("person__preferred_username", "person__email", "person__name", "username")
    search_help_text = "A username, email, name or subject."
    readonly_fields = ("username", "first_name", "last_name", "email", "is_staff", "is_active", "last_login")
    fieldsets = ((None, {"fields": readonly_fields}),)

    @admin.display(description="username", ordering="person__preferred_username")
    def username_shown(self, user) -> str:
        return link("auth.user", user.pk, person_name(user))

    @admin.display(description="name", ordering="person__name")
    def name(self, user) -> str:
        person = getattr(user, "person", None)
        return person.name if person else user.get_full_name()

    @admin.display(description="email", ordering="person__email")
    def email_shown(self, user) -> str:
        person = getattr(user, "person", None)
        return person.email if person else user.email

    @admin.display(description="last sign-in", ordering="last_login")
    def last_login_shown(self, user) -> str:
        return when(user.last_login)

    @admin.display(description="accounts")
    def accounts(self, user) -> str:
        url = reverse("admin:accounts_account_changelist") + f"?q={user.username}"
        return format_html('<a href="{}">accounts</a>', url)
