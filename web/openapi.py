"""Building blocks of the OpenAPI document that every app shares: the error body, list envelopes,
and a hook that declares what every operation has (X-Request-ID)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Unprocessable",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}
_ERROR_HEADERS = {
    429: OpenApiParameter(
        "Retry-After", int, OpenApiParameter.HEADER, response=[429], required=True, description="Seconds."
    ),
}


def error_response(status: int, codes: Sequence[str], examples: dict[str, str], **extra) -> OpenApiResponse:
    """The contract's error body for one status, its `code` one of `codes`; `extra` adds fields to
    `error` (for example the `event_id` of `outcome_unknown`)."""
    name = f"{_REASONS[status]}Error"
    detail = inline_serializer(
        f"{name}Detail",
        {
            "code": serializers.ChoiceField(list(codes)),
            "message": serializers.CharField(),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="Per field (or header, or query parameter), what is wrong with it.",
            ),
            **extra,
        },
    )
    return OpenApiResponse(
        inline_serializer(name, {"error": detail}),
        description=", ".join(f"`{code}`" for code in codes),
        examples=[
            OpenApiExample(code, {"error": {"code": code, "message": message}}, status_codes=[status])
            for code, message in examples.items()
        ],
    )


def error_headers(statuses: Iterable[int]) -> list[OpenApiParameter]:
    return [_ERROR_HEADERS[s] for s in statuses if s in _ERROR_HEADERS]


def page_of(name: str, item: serializers.Serializer, *, cursor: bool) -> serializers.Serializer:
    """The list envelope; with `cursor`, `count` is there only in page-number mode."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(
                required=not cursor,
                help_text="How many in all; only with ?page= (not with ?cursor=)." if cursor else "",
            ),
            "next": serializers.URLField(allow_null=True, help_text="The next (older) page, if any."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous (newer) page, if any."),
            "results": item,
        },
    )


def page_response(
    name: str, item: serializers.Serializer, results: list, *, cursor: bool, next_page: str | None = None
) -> OpenApiResponse:
    """A list's 200: the envelope with an example page of `results`; with `cursor`, also an example
    cursor page (the first result, and `next_page` as its next link, if one is given)."""
    examples = [
        OpenApiExample(
            "page",
            {"count": len(results), "next": None, "previous": None, "results": results},
            status_codes=[200],
        )
    ]
    if cursor:
        examples.append(
            OpenApiExample(
                "cursor",
                {"next": next_page, "previous": None, "results": results[:1] if next_page else results},
                status_codes=[200],
            )
        )
    return OpenApiResponse(page_of(name, item, cursor=cursor), examples=examples)


def page_parameters(*, cursor: bool) -> list[OpenApiParameter]:
    parameters = [
        OpenApiParameter(
            "page",
            {"type": "integer", "minimum": 1},
            description="Page number, from 1 (not with `cursor`); past the last: 404.",
        ),
        OpenApiParameter(
            "page_size",
            {"type": "integer", "minimum": 1},
            description="Items per page: default 50; more than 200 counts as 200; less than 1: 400.",
        ),
    ]
    if cursor:
        parameters.append(
            OpenApiParameter(
                "cursor",
                str,
                description="Cursor pagination: empty for the first page, then the cursor in `next` or "
                "`previous`. Each page costs the same however long the history; no `count`.",
            )
        )
    return parameters


REQUEST_ID = "X-Request-ID"


def declare_request_id(result: dict, generator, request, public: bool) -> dict:
    """A postprocessing hook: every operation takes and answers X-Request-ID (the contract's
    Operations)."""
    parameter = {
        "in": "header",
        "name": REQUEST_ID,
        "required": False,
        # Any value is taken: one that is not 1-200 printable ASCII characters is replaced, not refused.
        "schema": {"type": "string"},
        "description": "Your own id for this request (1-200 printable ASCII characters); if it is "
        "missing or anything else, one is made.",
    }
    header = {"schema": {"type": "string"}, "description": "The request's id, as sent or as made."}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            operation.setdefault("parameters", []).append(parameter)
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[REQUEST_ID] = header
    return result
