"""Test settings: the dev settings on their own RabbitMQ vhost and Redis database, fast password hashing.

`REMIT_TEST_NAMESPACE` (for example `_b`) gives a second checkout its own database and vhosts, so two
test runs on one machine keep out of each other's way.
"""

import os

NAMESPACE = os.environ.get("REMIT_TEST_NAMESPACE", "")

# Apart from a dev system that may run beside the tests on the same servers.
os.environ.setdefault("RABBITMQ_URL", f"amqp://guest:guest@127.0.0.1:5672/remit_test{NAMESPACE}")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/remit{NAMESPACE}")

from config.settings.dev import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
