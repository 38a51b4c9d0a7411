"""Liveness and readiness: PostgreSQL is required; Redis or RabbitMQ down means degraded."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse

from config import bootstrap
from messaging.health import broker_is_reachable


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    checks = {
        "postgresql": _database_answers(),
        "redis": bootstrap.limit_cache().is_available(),
        "rabbitmq": broker_is_reachable(settings.RABBITMQ_URL),
    }
    dependencies = {name: "up" if ok else "down" for name, ok in checks.items()}
    if not checks["postgresql"]:
        state, status = "unavailable", 503
    elif all(checks.values()):
        state, status = "ok", 200
    else:
        state, status = "degraded", 200
    return JsonResponse({"status": state, "dependencies": dependencies}, status=status)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        connection.close_if_unusable_or_obsolete()
        return False
