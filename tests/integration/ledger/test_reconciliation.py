"""Reconciliation against the real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from ledger import reconciliation
from ledger.reconciliation import reconcile


@pytest.fixture
def session_statement_timeout_of_10ms() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '10ms'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")


@pytest.mark.django_db(transaction=True)
def test_a_session_statement_timeout_does_not_cut_reconciliation_short(
    session_statement_timeout_of_10ms, monkeypatch
):
    # As on a long history: one check runs longer than the session allows any statement.
    monkeypatch.setitem(
        reconciliation.CHECKS,
        "a check slower than the session's timeout",
        "SELECT * FROM pg_sleep(0.05) WHERE random() < 0",
    )

    assert reconcile() == []

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("10ms",)
