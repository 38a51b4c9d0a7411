"""An account's balance over time as a server-drawn SVG: a few hundred index lookups, whatever the
length of its history (the journal is never read whole)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils.html import escape

from ledger.models import Entry
from transfers.admin_kit import money, when

SAMPLES = 240
_TABLE = Entry._meta.db_table

# The account's first and last journal ids, then for each of SAMPLES evenly spaced ids between them
# the last entry at or before it: each one a descent of the index (account_id, -id).
_SAMPLED = f"""
WITH bounds AS (
    SELECT (SELECT id FROM {_TABLE} WHERE account_id = %(account)s ORDER BY id LIMIT 1) AS lo,
           (SELECT id FROM {_TABLE} WHERE account_id = %(account)s ORDER BY id DESC LIMIT 1) AS hi
)
SELECT DISTINCT ON (e.id) e.id, e.created_at, e.balance_after
FROM bounds, generate_series(0, %(samples)s) AS g(i)
CROSS JOIN LATERAL (
    SELECT id, created_at, balance_after FROM {_TABLE}
    WHERE account_id = %(account)s AND id <= bounds.lo + (bounds.hi - bounds.lo) * g.i / %(samples)s
    ORDER BY id DESC LIMIT 1
) e
WHERE bounds.lo IS NOT NULL
ORDER BY e.id
"""


@dataclass(frozen=True)
class Point:
    entry_id: int
    at: dt.datetime
    balance: int


def balance_points(account_id: uuid.UUID, samples: int = SAMPLES) -> list[Point]:
    """Up to samples + 1 points of the balance after an entry, first and last entry included."""
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLED, {"account": account_id, "samples": samples})
        return [Point(*row) for row in cursor.fetchall() if row[2] is not None]


WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 240, 130, 20, 20, 40


def balance_svg(points: list[Point], currency: str) -> str:
    """A step line of the balance against time, with its extremes and dates labelled."""
    if not points:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" role="img" '
            'aria-label="No journal entries yet"><text x="10" y="35">No journal entries yet.</text></svg>'
        )
    start, end = points[0].at.timestamp(), points[-1].at.timestamp()
    low, high = min(0, *(p.balance for p in points)), max(p.balance for p in points)
    span_x, span_y = (end - start) or 1.0, (high - low) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(p: Point) -> float:
        return LEFT + (p.at.timestamp() - start) / span_x * plot_w

    def y(balance: int) -> float:
        return TOP + plot_h - (balance - low) / span_y * plot_h

    path = [f"{x(points[0]):.1f},{y(points[0].balance):.1f}"]
    for before, point in itertools.pairwise(points):
        path.append(f"{x(point):.1f},{y(before.balance):.1f}")
        path.append(f"{x(point):.1f},{y(point.balance):.1f}")
    label = escape(
        f"Balance from {when(points[0].at)} to {when(points[-1].at)}: between {money(low, currency)}"
        f" and {money(high, currency)}; now {money(points[-1].balance, currency)}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{label}" id="balance-chart" font-family="sans-serif" font-size="11">'
        f"<title>{label}</title>"
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#f8f8f8" stroke="#ccc"/>'
        f'<text x="{LEFT - 6}" y="{y(high) + 4:.1f}" text-anchor="end">{escape(money(high, currency))}</text>'
        f'<text x="{LEFT - 6}" y="{y(low) + 4:.1f}" text-anchor="end">{escape(money(low, currency))}</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 22}">{escape(when(points[0].at))}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 22}" text-anchor="end">{escape(when(points[-1].at))}</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 6}" fill="#666">{len(points)} sampled points of the journal</text>'
        f'<polyline fill="none" stroke="#417690" stroke-width="2" points="{" ".join(path)}"/>'
        "</svg>"
    )
