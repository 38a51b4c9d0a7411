"""`manage.py migrate`: Django's, run without the statement timeout every other session has."""

from __future__ import annotations

from django.core.management.commands import migrate
from django.db import connections

# A migration takes as long as it takes (an index, a backfill), and a data migration may think
# between statements. lock_timeout stays: a migration that cannot get its table within 2 s fails,
# to be run again, rather than queue every request behind it.
_LIFTED = ("statement_timeout", "idle_in_transaction_session_timeout")


class Command(migrate.Command):
    def handle(self, *args, **options) -> None:
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            for name in _LIFTED:
                cursor.execute("SELECT set_config(%s, '0', false)", [name])
        try:
            super().handle(*args, **options)
        finally:
            if connection.is_usable():
                with connection.cursor() as cursor:
                    for name in _LIFTED:
                        cursor.execute(f"RESET {name}")
