"""The journal in the Django admin: read-only, searchable by account and transaction."""

from django.contrib import admin

from ledger.models import Entry
from web.readonly_admin import ReadOnlyAdmin


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "transaction_id", "account", "type", "amount", "balance_after", "created_at")
    list_filter = ("type",)
    search_fields = ("=transaction_id", "=account__id")
    ordering = ("-id",)
    show_full_result_count = False
    list_select_related = ("account",)
