"""The contract's error body, `{"error": {"code", "message", "fields"?}}`, for framework failures.

The core's own errors become HTTP answers in `transfers/api/errors.py`, which falls back on
`framework_error` for what DRF and Django raise themselves.
"""

from __future__ import annotations

import math

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

_DRF_CODES = {
    exceptions.ParseError: (400, "malformed_json"),
    exceptions.NotAuthenticated: (401, "not_authenticated"),
    exceptions.AuthenticationFailed: (401, "not_authenticated"),
    exceptions.PermissionDenied: (403, "forbidden"),
    exceptions.NotFound: (404, "not_found"),
    exceptions.MethodNotAllowed: (405, "method_not_allowed"),
    exceptions.NotAcceptable: (406, "not_acceptable"),
    exceptions.UnsupportedMediaType: (415, "unsupported_media_type"),
    exceptions.Throttled: (429, "throttled"),
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def framework_error(exc: Exception) -> Response | None:
    """The answer to an exception DRF or Django raised (validation, auth, 404, 405, ...); None if
    it is none of theirs."""
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body("validation_error", "The request is not valid.", fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if not isinstance(exc, exceptions.APIException):
        return None
    status_code, code = next(
        (mapped for drf_type, mapped in _DRF_CODES.items() if isinstance(exc, drf_type)),
        (exc.status_code, "service_unavailable" if exc.status_code == 503 else str(exc.default_code)),
    )
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    return Response(error_body(code, _message(exc.detail)), status=status_code, headers=headers)


def _message(detail: object) -> str:
    return str(detail) if not isinstance(detail, (list, dict)) else "The request failed."


def not_found(request, exception=None) -> JsonResponse:
    """The site's 404 (`handler404`), outside the API views too."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def server_error(request) -> JsonResponse:
    """The site's 500 (`handler500`); the traceback is in the log."""
    return JsonResponse(error_body("internal_error", "The server failed to answer this request."), status=500)
