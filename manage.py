#!/usr/bin/env python
"""Django's command-line utility for Portcullis."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if "SECRET_KEY" not in os.environ:
        # An unconfigured checkout is a developer's: commands run with development settings.
        # Production sets SECRET_KEY, so DEBUG stays off there unless asked for; the web
        # server (wsgi/asgi) never takes this default.
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
