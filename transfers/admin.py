"""Events in the Django admin: read-only, filterable by type and status."""

from django.contrib import admin

from transfers.models import Event
from web.readonly_admin import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "status", "reason", "account", "counterparty", "amount", "created_at")
    list_filter = ("type", "status", "reason")
    search_fields = ("=event_id", "=account__id", "=counterparty__id")
    ordering = ("-seq",)
    show_full_result_count = False
    list_select_related = ("account", "counterparty")
