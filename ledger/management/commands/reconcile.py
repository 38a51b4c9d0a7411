"""`manage.py reconcile`: check every ledger invariant; exit 1 and show samples if one is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledger.reconciliation import CHECKS, reconcile


class Command(BaseCommand):
    help = "Check the ledger's invariants against PostgreSQL; exits 1 if any is broken."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sample", type=int, default=10, help="Offending rows to show per check.")

    def handle(self, *args, sample: int, **options) -> None:
        findings = {f.check: f for f in reconcile(sample)}
        for check in CHECKS:
            finding = findings.get(check)
            mark = self.style.SUCCESS("ok    ") if finding is None else self.style.ERROR("BROKEN")
            self.stdout.write(f"{mark} {check}")
            for row in finding.rows if finding else ():
                self.stdout.write(f"         {row}")
        if findings:
            raise CommandError(f"{len(findings)} invariant(s) broken")
