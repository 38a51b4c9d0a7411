"""`migrate` runs without the statement timeout, and leaves its session as it found it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import pre_migrate


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_migrate_runs_without_a_statement_timeout_and_restores_it_after():
    during: dict[str, str] = {}

    def record(**_kwargs) -> None:
        during.update({name: _show(name) for name in ("statement_timeout", "lock_timeout")})

    pre_migrate.connect(record, dispatch_uid="test_migrate")
    try:
        call_command("migrate", verbosity=0)
    finally:
        pre_migrate.disconnect(dispatch_uid="test_migrate")

    assert during == {"statement_timeout": "0", "lock_timeout": "2s"}
    assert (_show("statement_timeout"), _show("lock_timeout")) == ("5s", "2s")
