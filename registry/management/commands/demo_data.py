"""``manage.py demo_data``: a demo administrator and a registry for a first look (idempotent)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandParser

from accounts.models import User
from registry import services
from registry.models import Registry

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "portcullis-demo"


class Command(BaseCommand):
    help = "Create the demo administrator and the local registry, if they are missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--registry-url",
            default=os.environ.get("LOCAL_REGISTRY_URL", "http://127.0.0.1:5000"),
        )

    def handle(self, *args: object, **options: object) -> None:
        admin = User.objects.filter(username=DEMO_USERNAME).first()
        if admin is None:
            admin = User.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
            self.stdout.write(f"Created demo administrator {DEMO_USERNAME} / {DEMO_PASSWORD}")
        if not Registry.objects.filter(name__iexact="localregistry").exists():
            services.registry_create(
                actor=admin,
                name="localregistry",
                login_server=str(options["registry_url"]),
                tier="Standard",
                description="The registry that `make run` starts beside the portal.",
            )
            self.stdout.write("Created registry localregistry")
