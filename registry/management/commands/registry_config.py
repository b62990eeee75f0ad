"""``manage.py registry_config REGISTRY --output-dir DIR``: configure a registry for this portal.

Writes ``config.yml`` for ``docker-registry`` (distribution 2.8+) with its storage under DIR.
The registry listens on the host and port of its ``login_server``. Token authentication and
event notifications are added to this file as those parts of the portal arrive.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import Registry

CONFIG_TEMPLATE = """\
# Written by `manage.py registry_config {name}`; regenerate rather than edit.
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: {addr}
  secret: {http_secret}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


class Command(BaseCommand):
    help = "Write a docker-registry config.yml wired to this portal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("registry", help="name of the registry in the portal")
        parser.add_argument("--output-dir", required=True, type=Path)

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["registry"])
        try:
            registry = Registry.objects.get(name__iexact=name)
        except Registry.DoesNotExist as exc:
            raise CommandError(f"No registry named {name!r} in the portal.") from exc
        parts = urlsplit(registry.login_server)
        if parts.hostname is None:
            raise CommandError(f"Registry {name} has no usable login server URL.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        output = Path(str(options["output_dir"])).resolve()
        storage = output / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = CONFIG_TEMPLATE.format(
            name=registry.name,
            storage=storage,
            addr=f"{parts.hostname}:{port}",
            http_secret=secrets.token_urlsafe(32),
        )
        path = output / "config.yml"
        path.write_text(config)
        path.chmod(0o600)
        self.stdout.write(str(path))
