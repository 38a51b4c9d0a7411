"""Test settings: the dev settings on their own RabbitMQ vhost and Redis database, fast password hashing."""

import os

# Apart from a dev system that may run beside the tests on the same servers.
os.environ.setdefault("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/remit_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")

from config.settings.dev import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
