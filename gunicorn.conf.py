"""gunicorn's settings for the portal: ``gunicorn -c gunicorn.conf.py portal.wsgi``.

gunicorn also reads this file by itself when started from this directory. Flags on the command
line and ``GUNICORN_CMD_ARGS`` override it.

Threaded workers (``gthread``) keep a client's connection open between requests: API scripts,
CI jobs and dashboards that ask again and again don't pay a new connection each time, and a
slow client holds one thread, not a whole process. The portal is thread-safe (Django, its
per-process caches and the change feed's memory take their locks); each thread has its own
database connection, so a web process holds up to ``threads`` + 1 (the change feed's listener).
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Seconds an idle client connection stays open; keep it above a load balancer's idle timeout.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
