"""Measure the admin's account page at a long history: python scripts/measure_account_page.py [ENTRIES]

Builds a scratch database (remit_measure_account_page, dropped afterwards) holding one customer
account with ENTRIES journal entries (default 1,000,000) and as many events, then times what its
admin page reads: the balance chart's sampled points, the newest ledger page, a ledger page deep in
the history and the whole page rendered. The journal is never read whole: the numbers should not
grow with ENTRIES.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "remit_measure_account_page"


def main(entries: int) -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    sys.path.insert(0, str(ROOT))
    try:
        run(entries)
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)


def run(entries: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.models import Account
    from ledger.admin import LEDGER_PAGE
    from ledger.chart import balance_points, balance_svg

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("measure-owner")
    account = Account.objects.create(owner=owner, currency="KRW", daily_limit=10**9, balance=entries)
    settlement = Account.objects.get(kind="settlement", currency="KRW")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute(
            """
            INSERT INTO ledger_entry (transaction_id, account_id, type, amount, balance_after,
                                      counterparty_id, created_at)
            SELECT t, side.account, side.type, side.amount, side.after, side.counterparty,
                   now() - make_interval(secs => %(n)s - i)
            FROM generate_series(1, %(n)s) i, gen_random_uuid() t,
            LATERAL (VALUES (%(account)s::uuid, 'deposit', 1, i::bigint, NULL::uuid),
                            (%(settlement)s::uuid, 'settlement', -1, NULL, %(account)s::uuid))
                side(account, type, amount, after, counterparty)
            """,
            {"n": entries, "account": account.id, "settlement": settlement.id},
        )
        # As many events touching the account, for its recent events and the audit of the page.
        cursor.execute(
            """
            INSERT INTO transfers_event (event_id, type, status, account_id, amount, currency, reference,
                                         memo, business_date, requested_by_id, created_at, processed_at)
            SELECT gen_random_uuid(), 'deposit', 'completed', %(account)s, 1, 'KRW', '', '', current_date,
                   %(owner)s, now(), now()
            FROM generate_series(1, %(n)s)
            """,
            {"n": entries, "account": account.id, "owner": owner.id},
        )
        cursor.execute("ANALYZE ledger_entry")
        cursor.execute("ANALYZE transfers_event")
    took = time.perf_counter() - started
    print(f"{entries:,} entries on the account ({2 * entries:,} journal rows) and events in {took:.0f} s")

    def timed(name, action, repeat=5):
        action()  # warm
        best = min(_time(action) for _ in range(repeat))
        print(f"{name}: {best * 1000:.1f} ms (best of {repeat})")

    timed("chart points (240 samples)", lambda: balance_svg(balance_points(account.id), "KRW"))
    from ledger.models import Entry

    deep_id = Entry.objects.filter(account_id=account.id).order_by("id").values_list("id", flat=True)[1000]

    def newest() -> list:
        return list(Entry.objects.filter(account_id=account.id).order_by("-id")[: LEDGER_PAGE + 1])

    def deep() -> list:
        entries = Entry.objects.filter(account_id=account.id, id__lt=deep_id).order_by("-id")
        return list(entries[: LEDGER_PAGE + 1])

    timed("newest ledger page", newest)
    timed("ledger page 999,000 entries back", deep)
    admin = User.objects.create_user("measure-ops", is_staff=True)
    client = Client()
    client.force_login(admin)
    url = f"/admin/accounts/account/{account.id}/change/"
    assert client.get(url).status_code == 200
    timed("whole account page (GET, in process)", lambda: client.get(url))


def _time(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
