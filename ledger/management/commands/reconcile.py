"""`manage.py reconcile`: check every ledger invariant; exit 1 and show samples if one is broken."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from ledger.reconciliation import CHECKS, PENDING_OLDER_THAN, reconcile


class Command(BaseCommand):
    help = "Check the ledger's invariants against PostgreSQL; exits 1 if any is broken."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sample", type=int, default=10, help="Offending rows to show per check.")
        parser.add_argument(
            "--pending-older-than",
            type=float,
            default=PENDING_OLDER_THAN.total_seconds(),
            metavar="SECONDS",
            help="An event still pending this long after it was accepted is stuck (default %(default)s).",
        )

    def handle(self, *args, sample: int, pending_older_than: float, **options) -> None:
        numbered = {check: n for n, check in enumerate(CHECKS, start=1)}

        def checked(check: str, rows: list[tuple], seconds: float) -> None:
            # Each line as its check ends: over millions of rows, this is the run's progress.
            mark = self.style.SUCCESS("ok    ") if not rows else self.style.ERROR("BROKEN")
            self.stdout.write(f"{mark} {check}  ({numbered[check]}/{len(CHECKS)}, {seconds:.1f} s)")
            for row in rows:
                self.stdout.write(f"         {row}")
            self.stdout.flush()

        found = reconcile(
            sample, pending_older_than=dt.timedelta(seconds=pending_older_than), checked=checked
        )
        if found:
            raise CommandError(f"{len(found)} invariant(s) broken")
