"""Reconciliation: every invariant of the ledger checked against PostgreSQL, as SQL over the whole history."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

PENDING_OLDER_THAN = dt.timedelta(hours=1)

# Each check is one query selecting the rows that break it; an empty result means the invariant holds.
CHECKS: dict[str, str] = {
    "every journal transaction sums to zero": """
        SELECT transaction_id, sum(amount) FROM ledger_entry
        GROUP BY transaction_id HAVING sum(amount) <> 0""",
    "every journal entry belongs to an event": """
        SELECT en.id, en.transaction_id, en.account_id, en.type, en.amount FROM ledger_entry en
        WHERE NOT EXISTS (SELECT FROM transfers_event ev WHERE ev.event_id = en.transaction_id)""",
    "every balance equals the sum of its entries and the last balance_after": """
        SELECT a.id, a.balance, coalesce(e.total, 0), last.balance_after
        FROM accounts_account a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entry GROUP BY account_id) e
            ON e.account_id = a.id
        LEFT JOIN LATERAL (SELECT balance_after FROM ledger_entry WHERE account_id = a.id
                           ORDER BY id DESC LIMIT 1) last ON true
        WHERE a.kind = 'customer'
          AND (a.balance <> coalesce(e.total, 0) OR a.balance <> coalesce(last.balance_after, 0))""",
    "settlement balances stay 0 (their position is the sum of their entries)": """
        SELECT id, currency, balance FROM accounts_account WHERE kind = 'settlement' AND balance <> 0""",
    "customer balances equal completed deposits minus withdrawals, each net of its reversal": """
        WITH balances AS (
            SELECT currency, sum(balance) AS total FROM accounts_account
            WHERE kind = 'customer' GROUP BY currency),
        flows AS (
            SELECT ev.currency,
                   sum(CASE coalesce(orig.type, ev.type) WHEN 'deposit' THEN ev.amount
                                                         WHEN 'withdrawal' THEN -ev.amount ELSE 0 END
                       * CASE ev.type WHEN 'reversal' THEN -1 ELSE 1 END) AS total
            FROM transfers_event ev LEFT JOIN transfers_event orig ON orig.event_id = ev.reverses
            WHERE ev.status = 'completed' GROUP BY ev.currency)
        SELECT coalesce(b.currency, f.currency), b.total, f.total
        FROM balances b FULL JOIN flows f ON f.currency = b.currency
        WHERE coalesce(b.total, 0) <> coalesce(f.total, 0)""",
    # The postings of transfers.domain.model._postings: the source account's (the deposit, withdrawal
    # or transfer_out) and the other side's (settlement, or the receiver's transfer_in), each on an
    # account of the event's currency.
    "each completed event has exactly the two postings its type implies, others none": """
        SELECT * FROM (
            SELECT ev.event_id, ev.type, ev.status, count(en.id) AS entries,
                   count(*) FILTER (WHERE en.account_id = ev.account_id
                       AND en.type = CASE ev.type WHEN 'transfer' THEN 'transfer_out' ELSE ev.type END
                       AND en.amount = CASE ev.type WHEN 'deposit' THEN ev.amount ELSE -ev.amount END
                       AND en.counterparty_id IS NOT DISTINCT FROM ev.counterparty_id
                       AND a.currency = ev.currency) AS source_postings,
                   count(*) FILTER (WHERE en.account_id = coalesce(ev.counterparty_id, s.id)
                       AND en.type = CASE ev.type WHEN 'transfer' THEN 'transfer_in' ELSE 'settlement' END
                       AND en.amount = CASE ev.type WHEN 'deposit' THEN -ev.amount ELSE ev.amount END
                       AND en.counterparty_id = ev.account_id
                       AND a.currency = ev.currency) AS other_postings
            FROM transfers_event ev
            LEFT JOIN accounts_account s ON s.kind = 'settlement' AND s.currency = ev.currency
            LEFT JOIN ledger_entry en ON en.transaction_id = ev.event_id
            LEFT JOIN accounts_account a ON a.id = en.account_id
            WHERE ev.type <> 'reversal'
            GROUP BY ev.seq) per_event
        WHERE entries <> CASE status WHEN 'completed' THEN 2 ELSE 0 END
           OR status = 'completed' AND (source_postings <> 1 OR other_postings <> 1)""",
    # transfers.domain.model._reversal_postings: the debited account (`account_id`) gives the amount
    # back to the credited one (`counterparty_id`); on a customer account the entry is `reversal`,
    # naming the other customer account (none if the other side is the settlement account); on the
    # settlement account it is `settlement`, naming the customer.
    "each completed reversal has exactly the two postings that undo its event, others none": """
        SELECT * FROM (
            SELECT ev.event_id, ev.status, count(en.id) AS entries,
                   count(*) FILTER (WHERE en.account_id = ev.account_id AND en.amount = -ev.amount
                       AND en.type = CASE WHEN ev.account_id = s.id THEN 'settlement' ELSE 'reversal' END
                       AND en.counterparty_id IS NOT DISTINCT FROM
                           CASE WHEN ev.account_id = s.id THEN ev.counterparty_id
                                WHEN ev.counterparty_id = s.id THEN NULL ELSE ev.counterparty_id END
                       AND a.currency = ev.currency) AS debits,
                   count(*) FILTER (WHERE en.account_id = ev.counterparty_id AND en.amount = ev.amount
                       AND en.type = CASE WHEN ev.counterparty_id = s.id THEN 'settlement' ELSE 'reversal' END
                       AND en.counterparty_id IS NOT DISTINCT FROM
                           CASE WHEN ev.counterparty_id = s.id THEN ev.account_id
                                WHEN ev.account_id = s.id THEN NULL ELSE ev.account_id END
                       AND a.currency = ev.currency) AS credits
            FROM transfers_event ev
            LEFT JOIN accounts_account s ON s.kind = 'settlement' AND s.currency = ev.currency
            LEFT JOIN ledger_entry en ON en.transaction_id = ev.event_id
            LEFT JOIN accounts_account a ON a.id = en.account_id
            WHERE ev.type = 'reversal'
            GROUP BY ev.seq, s.id) per_reversal
        WHERE entries <> CASE status WHEN 'completed' THEN 2 ELSE 0 END
           OR status = 'completed' AND (debits <> 1 OR credits <> 1)""",
    # A reversal undoes one completed deposit, withdrawal or transfer: same amount, currency and
    # accounts the other way round; at most one per event is not rejected (also a unique index).
    "each reversal undoes a completed event of its amount and accounts, once": """
        SELECT ev.event_id, ev.reverses, orig.type, orig.status
        FROM transfers_event ev
        LEFT JOIN transfers_event orig ON orig.event_id = ev.reverses
        LEFT JOIN accounts_account s ON s.kind = 'settlement' AND s.currency = ev.currency
        WHERE ev.type = 'reversal' AND (
            orig.event_id IS NULL OR orig.status <> 'completed' OR orig.type = 'reversal'
            OR orig.amount <> ev.amount OR orig.currency <> ev.currency
            OR (ev.account_id, ev.counterparty_id) IS DISTINCT FROM (
                CASE orig.type WHEN 'deposit' THEN orig.account_id WHEN 'withdrawal' THEN s.id
                               ELSE orig.counterparty_id END,
                CASE orig.type WHEN 'deposit' THEN s.id ELSE orig.account_id END)
            OR (ev.status <> 'rejected' AND EXISTS (
                SELECT FROM transfers_event other WHERE other.reverses = ev.reverses
                AND other.status <> 'rejected' AND other.seq <> ev.seq)))""",
    "no event stays pending longer than allowed": """
        SELECT event_id, type, account_id, created_at, date_trunc('second', now() - created_at)
        FROM transfers_event
        WHERE status = 'pending' AND created_at < now() - %(pending_older_than)s
        ORDER BY seq""",
    "limit usage matches the events of each day": """
        WITH expected AS (
            SELECT account_id, business_date,
                   sum(amount) FILTER (WHERE status = 'completed') AS used,
                   sum(amount) FILTER (WHERE status = 'pending') AS pending
            FROM transfers_event WHERE type IN ('withdrawal', 'transfer')
            GROUP BY account_id, business_date)
        SELECT coalesce(u.account_id, x.account_id), coalesce(u.business_date, x.business_date),
               u.used, x.used, u.pending, x.pending
        FROM transfers_limitusage u
        FULL JOIN expected x ON x.account_id = u.account_id AND x.business_date = u.business_date
        WHERE coalesce(u.used, 0) <> coalesce(x.used, 0)
           OR coalesce(u.pending, 0) <> coalesce(x.pending, 0)""",
    "no day's completed outgoing money exceeds the account's limit": """
        SELECT u.account_id, u.business_date, u.used, a.daily_limit
        FROM transfers_limitusage u JOIN accounts_account a ON a.id = u.account_id
        WHERE u.used > a.daily_limit""",
}


@dataclass(frozen=True)
class Finding:
    check: str
    rows: list[tuple]


def reconcile(
    sample: int = 10,
    *,
    pending_older_than: dt.timedelta = PENDING_OLDER_THAN,
    checked: Callable[[str, list[tuple], float], None] | None = None,
) -> list[Finding]:
    """Run every check; return the broken ones with up to `sample` offending rows each.

    An event still pending `pending_older_than` after it was accepted counts as stuck. `checked`,
    if given, hears of each check as it ends (its name, offending rows, seconds taken): over a long
    history each is a scan of millions of rows, and an operator wants to see them go by.
    """
    findings = []
    with transaction.atomic(), connection.cursor() as cursor:
        # A session's statement_timeout guards requests; checking a long history may take longer.
        # (Inside a caller's transaction, this lasts until that transaction ends.)
        cursor.execute("SET LOCAL statement_timeout = 0")
        for name, sql in CHECKS.items():
            started = time.monotonic()
            cursor.execute(
                f"SELECT * FROM ({sql}) broken LIMIT %(sample)s",
                {"sample": sample, "pending_older_than": pending_older_than},
            )
            rows = cursor.fetchall()
            if rows:
                findings.append(Finding(name, rows))
            if checked is not None:
                checked(name, rows, time.monotonic() - started)
    return findings
