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
        found = reconcile(sample, pending_older_than=dt.timedelta(seconds=pending_older_than))
        findings = {f.check: f for f in found}
        for check in CHECKS:
            finding = findings.get(check)
            mark = self.style.SUCCESS("ok    ") if finding is None else self.style.ERROR("BROKEN")
            self.stdout.write(f"{mark} {check}")
            for row in finding.rows if finding else ():
                self.stdout.write(f"         {row}")
        if findings:
            raise CommandError(f"{len(findings)} invariant(s) broken")
