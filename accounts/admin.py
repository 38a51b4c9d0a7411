"""Accounts in the Django admin, read-only for ops staff."""

from django.contrib import admin

from accounts.models import Account
from web.readonly_admin import ReadOnlyAdmin


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "owner", "currency", "balance", "daily_limit", "status", "created_at")
    list_filter = ("kind", "currency", "status")
    search_fields = ("id", "owner__username")
    list_select_related = ("owner",)
