"""The one place where failures become HTTP answers: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from transfers.domain import errors

log = logging.getLogger(__name__)

STATUS_OF = {
    errors.ValidationFailed: 400,
    errors.SameAccount: 400,
    errors.CurrencyMismatch: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.IdempotencyInProgress: 409,
    errors.IdempotencyKeyReused: 422,
    errors.AccountNotEmpty: 422,
    errors.AccountClosed: 422,
    errors.DailyLimitExceeded: 422,
    errors.Overloaded: 429,
    errors.ServiceUnavailable: 503,
    errors.OutcomeUnknown: 503,
}

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


def handle_exception(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every expected failure gets the contract's status and code."""
    if isinstance(exc, errors.OutcomeUnknown):
        body = error_body(exc.code, exc.message)
        body["error"]["event_id"] = str(exc.event_id)
        location = f"/api/v1/events/{exc.event_id}"
        return Response(body, status=STATUS_OF[type(exc)], headers={"Location": location})
    if isinstance(exc, errors.RemitError):
        fields = getattr(exc, "fields", None)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.Overloaded) else None
        return Response(
            error_body(exc.code, exc.message, fields), status=STATUS_OF[type(exc)], headers=headers
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body("validation_error", "The request is not valid.", fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DatabaseError):
        log.error("database unavailable: %s", exc)
        unavailable = errors.ServiceUnavailable()
        return Response(error_body(unavailable.code, unavailable.message), status=503)
    if isinstance(exc, exceptions.APIException):
        status_code, code = next(
            (mapped for drf_type, mapped in _DRF_CODES.items() if isinstance(exc, drf_type)),
            (exc.status_code, "service_unavailable" if exc.status_code == 503 else str(exc.default_code)),
        )
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, _message(exc.detail)), status=status_code, headers=headers)
    return None


def _message(detail: object) -> str:
    return str(detail) if not isinstance(detail, (list, dict)) else "The request failed."


def not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def server_error(request) -> JsonResponse:
    return JsonResponse(error_body("internal_error", "The server failed to answer this request."), status=500)
