"""The contract's pagination: ?page= and ?page_size= (default 50, at most 200), and ?cursor= for
long histories.

A page number costs a COUNT and an OFFSET, both growing with the history. A cursor names the key of
the row a page ends at, so each page is one index range scan of `page_size + 1` rows however deep it
is; its body has no `count`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

Row = TypeVar("Row")


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        """`page_size` if given (a whole number from 1; more than 200 counts as 200), else 50."""
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        if not asked.isdigit() or int(asked) < 1:
            raise exceptions.ValidationError({"page_size": ["must be a whole number from 1"]})
        return min(int(asked), self.max_page_size)


def wants_cursor(request) -> bool:
    """`?cursor=` (empty for the first page) asks for cursor pages."""
    return "cursor" in request.query_params


def cursor_page(
    request,
    fetch: Callable[[int | None, bool, int], Sequence[Row]],
    key: Callable[[Row], int],
    render: Callable[[Sequence[Row]], list],
) -> Response:
    """One page of rows ordered by a unique integer key, newest (largest) first.

    `fetch(position, ascending, limit)` returns at most `limit` rows: with `ascending` False those
    whose key is below `position` (all if None), largest first; with `ascending` True those above
    it, smallest first.
    """
    if "page" in request.query_params:
        raise exceptions.ValidationError({"page": ["not with cursor: follow next and previous"]})
    size = Pagination().get_page_size(request)
    position, ascending = _decode(request.query_params["cursor"])
    rows = list(fetch(position, ascending, size + 1))
    more = len(rows) > size
    rows = rows[:size]
    if ascending:
        rows.reverse()
    if ascending:  # back towards the newest: there is always the older page it came from
        next_cursor = encode_cursor(key(rows[-1]) if rows else position + 1, False)
        previous_cursor = encode_cursor(key(rows[0]), True) if more else None
    else:
        next_cursor = encode_cursor(key(rows[-1]), False) if more else None
        previous_cursor = None
        if position is not None:
            previous_cursor = encode_cursor(key(rows[0]) if rows else max(position - 1, 0), True)
    return Response(
        {
            "next": _link(request, next_cursor),
            "previous": _link(request, previous_cursor),
            "results": render(rows),
        }
    )


def _link(request, cursor: str | None) -> str | None:
    return replace_query_param(request.build_absolute_uri(), "cursor", cursor) if cursor else None


def encode_cursor(position: int, ascending: bool = False) -> str:
    """The cursor of the page of rows below `position` (above it if `ascending`)."""
    raw = f"{'a' if ascending else 'd'}{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int | None, bool]:
    if not cursor:
        return None, False
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
        if raw[:1] in ("a", "d") and raw[1:].isdigit() and len(raw) <= 20:
            return int(raw[1:]), raw[0] == "a"
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise exceptions.ValidationError({"cursor": ["is not a cursor this API gave out"]})
