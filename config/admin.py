"""The admin, composed here like the API: each app's ModelAdmin is registered with the use cases the
root bound (`ops`), and with the panels other apps draw on its pages (an account's ledger and chart,
an event's journal entries, both from ledger), so no app imports another or config.

Django's admin imports this module as it starts (autodiscovery of `<app>.admin`), before any URL is
resolved, so every process sees the same registrations whatever imports first."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group, User

from accounts.admin import AccountAdmin, PersonAdmin
from accounts.models import Account
from config import bootstrap
from ledger.admin import EntryAdmin, account_ledger_panel, event_entries_panel
from ledger.models import Entry
from messaging.admin import DeadLetterAdmin, OutboxMessageAdmin
from messaging.models import DeadLetter, OutboxMessage
from transfers.admin import AuditRecordAdmin, EventAdmin, ReversalRequestAdmin
from transfers.models import AuditRecord, Event, ReversalRequest


def register(site: admin.AdminSite, app) -> None:
    """Register every ops page on `site` with the application's bound use cases (config.bootstrap.Api)."""
    site.site_header = "Remit operations"
    site.site_title = "Remit ops"
    site.index_title = "Ledgers, accounts and the work that waits"
    site.index_template = "admin/remit_index.html"
    for model in (User, Group):
        if site.is_registered(model):
            site.unregister(model)
    site.register(User, PersonAdmin)
    site.register(Account, AccountAdmin, ops=app, account_panels=(account_ledger_panel,))
    site.register(Entry, EntryAdmin)
    site.register(Event, EventAdmin, ops=app, event_panels=(event_entries_panel,))
    site.register(ReversalRequest, ReversalRequestAdmin, ops=app)
    site.register(AuditRecord, AuditRecordAdmin)
    site.register(OutboxMessage, OutboxMessageAdmin, ops=app)
    site.register(DeadLetter, DeadLetterAdmin)


register(admin.site, bootstrap.api())
