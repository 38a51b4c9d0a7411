"""Development settings: the production settings with local defaults for what the environment leaves out."""

import os

DEV_DEFAULTS = {
    "SECRET_KEY": "dev-only-not-a-secret",
    "DEBUG": "true",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1],testserver",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/remit",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
    "OIDC_ISSUER": "http://127.0.0.1:8080/realms/remit",
    "OIDC_AUDIENCE": "remit-api",
    "TIME_ZONE": "Asia/Seoul",
    # Plain HTTP on the loopback: no TLS, so no https redirect, secure-only cookies or HSTS.
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    # The dev frontend (frontend/, served by scripts/run).
    "CORS_ALLOWED_ORIGINS": "http://127.0.0.1:5173,http://localhost:5173",
}
for _name, _value in DEV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from config.settings.production import *  # noqa: E402,F403
