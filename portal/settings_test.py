"""Settings for the test suite: the real settings in development mode, with a fast hasher.

``DATABASE_URL`` still decides the database, so CI runs the suite on PostgreSQL.
"""

import os

os.environ.setdefault("DEBUG", "1")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Background tasks run in-process, straight away, so tests see their effects.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
