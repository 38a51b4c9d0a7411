"""The journal in the admin: read-only, linked both ways, with an account's ledger and balance
chart (a panel of the account page) and the settlement position per currency."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from ledger.chart import balance_points, balance_svg
from ledger.models import Entry
from ledger.position import positions
from transfers.admin_kit import ExactSearch, link, money, short, when
from web.readonly_admin import ReadOnlyAdmin

LEDGER_PAGE = 25


class EntryAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = (
        "entry",
        "at",
        "account_link",
        "type",
        "amount_shown",
        "balance_shown",
        "event",
        "counterparty_link",
    )
    list_filter = ("type", ("created_at", admin.DateFieldListFilter), "account__currency")
    uuid_search_fields = ("transaction_id", "account_id", "counterparty_id")
    search_help_text = "An event id (its journal transaction) or an account id."
    ordering = ("-id",)
    show_full_result_count = False
    list_select_related = ("account",)

    @admin.display(description="entry", ordering="id")
    def entry(self, obj: Entry) -> str:
        return link("ledger.entry", obj.id, obj.id)

    @admin.display(description="at", ordering="id")
    def at(self, obj: Entry) -> str:
        return when(obj.created_at)

    @admin.display(description="account")
    def account_link(self, obj: Entry) -> str:
        return link("accounts.account", obj.account_id, short(obj.account_id))

    @admin.display(description="amount")
    def amount_shown(self, obj: Entry) -> str:
        return money(obj.amount, obj.account.currency)

    @admin.display(description="balance after")
    def balance_shown(self, obj: Entry) -> str:
        return money(obj.balance_after, obj.account.currency)

    @admin.display(description="event")
    def event(self, obj: Entry) -> str:
        return link("transfers.event", obj.transaction_id, short(obj.transaction_id))

    @admin.display(description="counterparty")
    def counterparty_link(self, obj: Entry) -> str:
        return link("accounts.account", obj.counterparty_id, short(obj.counterparty_id))

    def get_urls(self):
        return self.own_urls({"position": ("position/", self.position)})

    def position(self, request):
        """Settlement position per currency, derived from the books, with reconcile's comparison."""
        rows = [
            {
                "currency": p.currency,
                "settlement": link("accounts.account", p.settlement_account, short(p.settlement_account)),
                "accounts": p.accounts,
                "held": money(p.held, p.currency),
                "deposits": money(p.deposits, p.currency),
                "withdrawals": money(p.withdrawals, p.currency),
                "deposits_reversed": money(p.deposits_reversed, p.currency),
                "withdrawals_reversed": money(p.withdrawals_reversed, p.currency),
                "transfers_reversed": money(p.transfers_reversed, p.currency),
                "net_in": money(p.net_in, p.currency),
                "position": money(p.settlement, p.currency),
                "reconciles": p.reconciles,
            }
            for p in positions()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Settlement position",
            "positions": rows,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/remit/position.html", context)


def account_ledger_panel(request, account) -> str:
    """An account page's ledger (newest first, `LEDGER_PAGE` a page, by journal id: constant time
    however long the history) and its balance chart."""
    if account.kind != "customer":
        return ""
    before = request.GET.get("ledger_before")
    entries = Entry.objects.filter(account_id=account.id).order_by("-id")
    if before and before.isdigit():
        entries = entries.filter(id__lt=int(before))
    page = list(entries[: LEDGER_PAGE + 1])
    older = page[LEDGER_PAGE].id + 1 if len(page) > LEDGER_PAGE else None
    page = page[:LEDGER_PAGE]
    here = reverse("admin:accounts_account_change", args=[account.id])
    lines = [
        {
            "entry": link("ledger.entry", e.id, e.id),
            "at": when(e.created_at),
            "type": e.type,
            "amount": money(e.amount, account.currency),
            "balance_after": money(e.balance_after, account.currency),
            "event": link("transfers.event", e.transaction_id, short(e.transaction_id)),
            "counterparty": link("accounts.account", e.counterparty_id, short(e.counterparty_id)),
        }
        for e in page
    ]
    return render_to_string(
        "admin/remit/ledger_panel.html",
        {
            # Built from numbers and escaped text only.
            "chart": mark_safe(balance_svg(balance_points(uuid.UUID(str(account.id))), account.currency)),
            "entries": lines,
            "older_url": f"{here}?ledger_before={page[-1].id}" if older else None,
            "newest_url": here if before else None,
            "all_url": reverse("admin:ledger_entry_changelist") + f"?q={account.id}",
        },
        request=request,
    )


def event_entries_panel(request, event) -> str:
    """An event page's journal transaction: its entries, each linked to its account."""
    entries = Entry.objects.filter(transaction_id=event.event_id).order_by("id")
    lines = [
        {
            "entry": link("ledger.entry", e.id, e.id),
            "at": when(e.created_at),
            "account": link("accounts.account", e.account_id, short(e.account_id)),
            "type": e.type,
            "amount": money(e.amount, event.currency),
            "balance_after": money(e.balance_after, event.currency),
            "counterparty": link("accounts.account", e.counterparty_id, short(e.counterparty_id)),
        }
        for e in entries
    ]
    return render_to_string("admin/remit/entries_panel.html", {"entries": lines}, request=request)
