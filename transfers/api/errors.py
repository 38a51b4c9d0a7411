"""The one place where failures become HTTP answers: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from transfers.adapters.database_errors import database_unavailable
from transfers.domain import errors

log = logging.getLogger(__name__)

# Looked up along the class hierarchy, so a subclass added later answers as its parent does; an
# error the contract does not name (a bare RemitError) is the server's fault.
STATUS_OF = {
    errors.RemitError: 500,
    errors.ValidationFailed: 400,
    errors.SameAccount: 400,
    errors.CurrencyMismatch: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.IdempotencyInProgress: 409,
    errors.IdempotencyKeyReused: 422,
    errors.AccountNotEmpty: 422,
    errors.Rejection: 422,
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


def status_of(exc: errors.RemitError) -> int:
    return next(STATUS_OF[cls] for cls in type(exc).__mro__ if cls in STATUS_OF)


def handle_exception(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every expected failure gets the contract's status and code.

    A database that cannot serve is 503 `service_unavailable` (nothing was committed); any other
    database error is a bug: None lets Django answer 500 and log the traceback.
    """
    if isinstance(exc, errors.RemitError):
        body = error_body(exc.code, exc.message, getattr(exc, "fields", None))
        headers = {}
        if isinstance(exc, errors.OutcomeUnknown):
            body["error"]["event_id"] = str(exc.event_id)
            headers["Location"] = f"/api/v1/events/{exc.event_id}"
        if isinstance(exc, errors.Overloaded):
            headers["Retry-After"] = str(exc.retry_after)
        return Response(body, status=status_of(exc), headers=headers)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body("validation_error", "The request is not valid.", fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DatabaseError) and database_unavailable(exc):
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
