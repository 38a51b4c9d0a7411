"""The WSGI application that gunicorn serves."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

from telemetry import tracing  # noqa: E402 - after Django's set-up, in each gunicorn worker

tracing.configure_from_environment("remit-api")
