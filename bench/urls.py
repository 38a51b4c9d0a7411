"""The real URL map plus the trivial endpoints the API is compared with."""

import uuid

from django.db import connection
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as real


class NoopView(APIView):
    """POST answers 202 with a small JSON body: no authentication, no database."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request) -> Response:
        return Response({"status": "accepted"}, status=202)


class DurableNoopView(NoopView):
    """As NoopView, after committing one row: the floor of any endpoint that makes a request durable."""

    TABLE = "bench_durable_noop"

    def post(self, request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.TABLE} (id) VALUES (%s)", [uuid.uuid4()])
        return super().post(request)


urlpatterns = [
    # Under the API's prefix, so that they run the middleware the API runs (config/wsgi.py).
    path("api/v1/bench/noop", NoopView.as_view()),
    path("api/v1/bench/durable-noop", DurableNoopView.as_view()),
    *real,
]
