"""Project-wide request middleware."""

from __future__ import annotations

from django.db import connection

from transfers.adapters.reply_deadline import each_reply_within_deadline


class DatabaseReplyDeadline:
    """Every database statement a request runs gets its reply within the deadline, or the request
    fails as a database that cannot serve (503): a web thread never hangs on a silent connection."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with connection.execute_wrapper(each_reply_within_deadline):
            return self.get_response(request)
