"""``manage.py registry_config REGISTRY --output-dir DIR``: configure a registry for this portal.

Writes ``DIR/config.yml`` for ``docker-registry`` (distribution 2.8+) with its storage under
``DIR/storage``, listening on the host and port of the registry's ``login_server``, and
``DIR/token-bundle.crt``, the certificates of the portal's token signing keys (the current one
and any in ``TOKEN_PUBLISHED_CERTIFICATES``). The registry sends clients to the portal's token
server (``auth.token``) and its notifications to the portal's ``/registry-events/`` with a new
events secret (the previous one stays valid until the next config is written). Development
(``DEBUG``) creates the signing key if missing. Prints the path of ``config.yml``.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.events.secrets import events_secret_create
from registry.models import Registry
from registry.tokens.signing import certificate_bundle

BUNDLE_NAME = "token-bundle.crt"

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
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
notifications:
  endpoints:
    # Pushes, pulls and deletes, for the portal's index and webhooks (docs/events.md). Blob
    # events (application/octet-stream) are of no use to it and are not sent.
    - name: portcullis
      url: {events_url}
      headers:
        Authorization: [{events_authorization}]
      timeout: 5s
      threshold: 5
      backoff: 10s
      ignoredmediatypes:
        - application/octet-stream
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""


def _yaml(value: str) -> str:
    """A YAML scalar for any string (a JSON string is valid YAML)."""
    return json.dumps(value)


class Command(BaseCommand):
    help = "Write a docker-registry config.yml (and its token certificate bundle) for this portal."

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
        try:
            bundle_pem = certificate_bundle()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        output = Path(str(options["output_dir"])).resolve()
        storage = output / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        bundle = output / BUNDLE_NAME
        bundle.write_bytes(bundle_pem)
        config = CONFIG_TEMPLATE.format(
            name=registry.name,
            storage=_yaml(str(storage)),
            addr=_yaml(f"{parts.hostname}:{port}"),
            http_secret=_yaml(secrets.token_urlsafe(32)),
            realm=_yaml(f"{settings.PORTAL_URL}/oauth2/token"),
            service=_yaml(registry.service),
            issuer=_yaml(settings.TOKEN_ISSUER),
            bundle=_yaml(str(bundle)),
            events_url=_yaml(f"{settings.PORTAL_URL}/registry-events/{registry.name}/"),
            events_authorization=_yaml(f"Bearer {events_secret_create(registry)}"),
        )
        path = output / "config.yml"
        path.write_text(config)
        path.chmod(0o600)
        self.stdout.write(str(path))
