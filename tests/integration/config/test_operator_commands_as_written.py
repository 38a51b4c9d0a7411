"""The README's operator commands work as written in the checkout, and a bad argument is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.support.processes import ROOT

pytestmark = pytest.mark.django_db


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python manage.py ...` with no Django variable set, as an operator types it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "SECRET_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reconcile_runs_in_the_checkout_without_settings_and_shows_each_check_as_it_ends():
    database = connection.settings_dict
    test_database = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"

    result = manage("reconcile", DATABASE_URL=test_database)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    assert all(line.startswith("ok     ") for line in lines)
    assert lines[-1].endswith(f"({len(lines)}/{len(lines)}, " + lines[-1].rsplit(", ", 1)[1])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("replay_events", "not-a-uuid"),
            "CommandError: not an event id: 'not-a-uuid' (event ids are UUIDs)",
        ),
        (("replay_events",), "CommandError: name event ids, or give --older-than SECONDS or --parked"),
    ],
)
def test_a_bad_argument_is_one_line_not_a_traceback(args, error):
    result = manage(*args)

    assert result.returncode == 1
    assert result.stderr.strip() == error
