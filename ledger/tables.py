"""The journal table as the ledger store sees it: transfers.adapters.tables.JournalTable."""

from ledger.models import Entry


class DjangoJournalTable:
    name = Entry._meta.db_table
