"""Email settings come from ``EMAIL_URL`` (dj-email-url), with the console in development."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, "
    "s.EMAIL_USE_SSL, s.EMAIL_HOST_USER, s.EMAIL_TIMEOUT]))"
)


def email_settings(**env: str) -> list:
    environment = {k: v for k, v in os.environ.items() if k not in {"EMAIL_URL", "DATABASE_URL"}}
    environment.update(DJANGO_SETTINGS_MODULE="portal.settings", **env)
    result = subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_prints_email_to_the_console():
    assert email_settings(DEBUG="1")[0] == "django.core.mail.backends.console.EmailBackend"


def test_email_url_names_the_server():
    found = email_settings(
        DEBUG="1", EMAIL_URL="submission://portal:s3cret@mail.example.com:587?timeout=20"
    )
    assert found == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        587,
        True,
        False,
        "portal",
        20,
    ]
