"""A worker's batch sends its arrays to PostgreSQL in binary, and they arrive intact."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from transfers.adapters.ledger_store import send_lists_in_binary

pytestmark = pytest.mark.django_db

# Whatever the text form would have to quote or escape, and the bounds of the integers we store.
TEXTS = ["plain", "with space", 'quo"te', "back\\slash", "{braces},comma", "NULL", "", None, "\u3000"]
INTEGERS = [0, 1, -(2**63), 2**63 - 1, 100_000]


def test_a_batch_cursor_sends_a_list_as_a_typed_binary_array():
    ids, day = [uuid.uuid4(), None], dt.date(2026, 11, 30)
    with connection.cursor() as cursor:
        send_lists_in_binary(cursor)
        cursor.execute(
            "SELECT pg_typeof(%s)::text, %s::text[], %s::uuid[], %s::bigint[], %s::date[], %s::int[]",
            [["a"], TEXTS, ids, INTEGERS, [day], []],
        )
        row = cursor.fetchone()

    # A text array literal carries no type: PostgreSQL could not say what `["a"]` is.
    assert row == ("text[]", TEXTS, ids, INTEGERS, [day], [])


def test_other_cursors_still_send_lists_in_text():
    with connection.cursor() as batch:
        send_lists_in_binary(batch)
    with (
        pytest.raises(DatabaseError, match="could not determine"),
        transaction.atomic(),  # a savepoint, for the failed statement
        connection.cursor() as other,
    ):
        other.execute("SELECT pg_typeof(%s)::text", [["a"]])
