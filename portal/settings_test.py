"""Settings for the test suite: the real settings in development mode, with a fast hasher.

``DATABASE_URL`` still decides the database, so CI runs the suite on PostgreSQL.
"""

import hashlib
import os
from pathlib import Path

os.environ.setdefault("DEBUG", "1")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Background tasks run in-process, straight away, so tests see their effects.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# Webhook receivers in tests listen on the loopback; retries come quickly.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
WEBHOOK_TIMEOUT = 3.0
WEBHOOK_RETRY_BASE_SECONDS = 0.05
WEBHOOK_RETRY_MAX_DELAY_SECONDS = 0.2

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared in-memory database: live-server tests then get a connection
    # per thread, so a registry's requests to the portal and the test itself can run at once.
    # In memory-backed /dev/shm where there is one, named after this checkout so two
    # checkouts never share it (pytest-django adds the xdist worker to the name).
    _shm = Path("/dev/shm")  # noqa: S108 - a test database under a name of its own
    _where = _shm if _shm.is_dir() else DATA_DIR  # noqa: F405
    _checkout = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12]  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(_where / f"portcullis-test-{_checkout}.sqlite3")}  # noqa: F405

# Tests revoke and reassign, then ask at once: no remembered decisions unless a test wants them.
TOKEN_DECISION_CACHE_SECONDS = 0

# Tests change rows and ask again at once, in transactions that never commit: lookups go to the
# database unless a test turns the change feed on (tests/registry/test_change_feed.py).
CHANGE_FEED = False
