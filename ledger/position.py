"""The bank's settlement position per currency, derived from the books, with the figures that
`reconcile` compares: customer balances against deposits and withdrawals net of reversals, and
against the settlement account's entries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

_POSITION = """
WITH customers AS (
    SELECT currency, sum(balance) AS held, count(*) AS accounts
    FROM accounts_account WHERE kind = 'customer' GROUP BY currency),
flows AS (
    SELECT ev.currency,
        coalesce(sum(ev.amount) FILTER (WHERE ev.type = 'deposit'), 0) AS deposits,
        coalesce(sum(ev.amount) FILTER (WHERE ev.type = 'withdrawal'), 0) AS withdrawals,
        coalesce(sum(ev.amount) FILTER (WHERE ev.type = 'reversal' AND orig.type = 'deposit'), 0)
            AS deposits_reversed,
        coalesce(sum(ev.amount) FILTER (WHERE ev.type = 'reversal' AND orig.type = 'withdrawal'), 0)
            AS withdrawals_reversed,
        coalesce(sum(ev.amount) FILTER (WHERE ev.type = 'reversal' AND orig.type = 'transfer'), 0)
            AS transfers_reversed
    FROM transfers_event ev LEFT JOIN transfers_event orig ON orig.event_id = ev.reverses
    WHERE ev.status = 'completed' GROUP BY ev.currency),
settlement AS (
    SELECT s.currency, s.id, coalesce(sum(en.amount), 0) AS position
    FROM accounts_account s LEFT JOIN ledger_entry en ON en.account_id = s.id
    WHERE s.kind = 'settlement' GROUP BY s.currency, s.id)
SELECT st.currency, st.id, coalesce(c.accounts, 0), coalesce(c.held, 0),
       coalesce(f.deposits, 0), coalesce(f.withdrawals, 0), coalesce(f.deposits_reversed, 0),
       coalesce(f.withdrawals_reversed, 0), coalesce(f.transfers_reversed, 0), st.position
FROM settlement st LEFT JOIN customers c ON c.currency = st.currency
LEFT JOIN flows f ON f.currency = st.currency
ORDER BY st.currency
"""


@dataclass(frozen=True)
class Position:
    """Minor units. `settlement` is the sum of the settlement account's entries: the mirror of what
    customers hold, so `held == net_in == -settlement` when the books reconcile."""

    currency: str
    settlement_account: object
    accounts: int
    held: int
    deposits: int
    withdrawals: int
    deposits_reversed: int
    withdrawals_reversed: int
    transfers_reversed: int
    settlement: int

    @property
    def net_in(self) -> int:
        return self.deposits - self.deposits_reversed - self.withdrawals + self.withdrawals_reversed

    @property
    def reconciles(self) -> bool:
        return self.held == self.net_in == -self.settlement


def positions() -> list[Position]:
    with connection.cursor() as cursor:
        cursor.execute(_POSITION)
        return [Position(*row[:3], *(int(v) for v in row[3:])) for row in cursor.fetchall()]
