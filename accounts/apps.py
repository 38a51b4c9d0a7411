from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts.oidc import forget_users

        post_save.connect(forget_users, sender=settings.AUTH_USER_MODEL, weak=False)
        post_delete.connect(forget_users, sender=settings.AUTH_USER_MODEL, weak=False)
