"""A read-only ModelAdmin for ops staff: they inspect money, the admin never moves it."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.urls import path


class ReadOnlyPermissions:
    """Staff (the `ops` role) may view; nobody adds, changes or deletes through the admin. A mixin,
    before the ModelAdmin it restricts (ReadOnlyAdmin's, or Django's UserAdmin)."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    """The admin of a model ops staff only read (money-moving data, the audit, the outbox)."""

    list_per_page = 50

    def own_urls(self, pages: dict[str, tuple[str, Callable]]) -> list:
        """This admin's own pages, then its standard ones: `{name: (route, view)}`, each behind the
        admin's sign-in and named `<app>_<model>_<name>` (reverse as `admin:<app>_<model>_<name>`)."""
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        own = [
            path(route, self.admin_site.admin_view(view), name=prefix + name)
            for name, (route, view) in pages.items()
        ]
        return own + super().get_urls()
