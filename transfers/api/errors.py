"""The one place where the core's errors become HTTP answers (DRF's EXCEPTION_HANDLER)."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from rest_framework.response import Response

from transfers.adapters.database_errors import database_unavailable
from transfers.domain import errors
from web.errors import error_body, framework_error

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
    errors.NotReversible: 422,
    errors.Rejection: 422,
    errors.Overloaded: 429,
    errors.ServiceUnavailable: 503,
    errors.OutcomeUnknown: 503,
}


def status_of(exc: errors.RemitError) -> int:
    return next(STATUS_OF[cls] for cls in type(exc).__mro__ if cls in STATUS_OF)


def handle_exception(exc: Exception, context: dict) -> Response | None:
    """Every expected failure gets the contract's status and code.

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
    if isinstance(exc, DatabaseError) and database_unavailable(exc):
        log.error("database unavailable: %s", exc)
        unavailable = errors.ServiceUnavailable()
        return Response(error_body(unavailable.code, unavailable.message), status=503)
    return framework_error(exc)
