"""``manage.py sync_registry [REGISTRY]``: reconcile the index with the registry (default: all)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import Registry
from registry.sync import registry_sync


class Command(BaseCommand):
    help = (
        "Reconcile the portal's index with what the registry stores. Incremental and resumable; "
        "it never removes index rows because a read failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("registry", nargs="?", help="registry name (default: every registry)")
        parser.add_argument(
            "--restart",
            action="store_true",
            help="start from the first repository instead of resuming an interrupted sync",
        )
        parser.add_argument("--page-size", type=int, default=100)

    def handle(self, *args: object, **options: object) -> None:
        name = options["registry"]
        registries = Registry.objects.all()
        if name:
            registries = registries.filter(name__iexact=str(name))
            if not registries:
                raise CommandError(f"No registry named {name!r}.")
        failed = False
        for registry in registries:
            report = registry_sync(
                registry=registry,
                restart=bool(options["restart"]),
                page_size=int(options["page_size"]),  # type: ignore[arg-type]
            )
            self.stdout.write(f"{registry.name}: {report.summary()}")
            for error in report.errors:
                self.stderr.write(f"{registry.name}: {error}")
            failed = failed or not report.completed
        if failed:
            raise CommandError("Some registries could not be read completely; run it again.")
