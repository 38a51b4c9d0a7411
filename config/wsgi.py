"""The WSGI application that gunicorn serves: the API's calls on a slimmer Django than the site's."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

django.setup(set_prefix=False)  # as django.core.wsgi.get_wsgi_application does


class _Handler(WSGIHandler):
    """Django's WSGI handler over a middleware list of its own."""

    def __init__(self, middleware: list[str]) -> None:
        self._middleware = middleware
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE, once, here at start-up.
        site = settings.MIDDLEWARE
        settings.MIDDLEWARE = self._middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site


class ByPath:
    """`/api/v1/…` to `api`, everything else (admin, docs, health, metrics, sign-in) to `site`."""

    def __init__(self, *, api: WSGIHandler, site: WSGIHandler) -> None:
        self.api, self.site = api, site
        self._api_prefix = settings.API_PATH_PREFIX

    def __call__(self, environ, start_response):
        handler = self.api if environ.get("PATH_INFO", "").startswith(self._api_prefix) else self.site
        return handler(environ, start_response)


application = ByPath(api=_Handler(settings.API_MIDDLEWARE), site=WSGIHandler())

from telemetry import tracing  # noqa: E402 - after Django's set-up, in each gunicorn worker

tracing.configure_from_environment("remit-api")
