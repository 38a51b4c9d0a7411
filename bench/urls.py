"""The real URL map plus the trivial endpoint the API is compared with."""

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


urlpatterns = [path("bench/noop", NoopView.as_view()), *real]
