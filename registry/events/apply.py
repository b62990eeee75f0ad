"""Apply stored registry events to the index, in the order they arrived.

- a manifest ``push`` adds the repository and the manifest (read from the registry, for its
  platforms, sizes and children) and points the tag at it when it was pushed by tag;
- a manifest ``pull`` (GET or HEAD) sets ``last_pulled_at`` on the manifest and the tag;
- a ``delete`` with a digest drops the manifest and every tag on it; one with only a tag
  drops the tag.

Events of one registry are applied by one worker at a time (the registry row is locked), in
arrival order, each in its own savepoint. A registry that cannot be reached leaves the event
and those after it pending for the next run; an event that fails for another reason is retried
``MAX_ATTEMPTS`` times, then flagged with the error and skipped so it never blocks the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry.backend import NotFound, RegistryClient, RegistryUnavailable, Unauthorized
from registry.models import Manifest, Registry, RegistryEvent, Repository, Tag
from registry.services import client_for
from registry.sync import index_manifest
from registry.webhooks import outbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_ATTEMPTS = 5


@dataclass
class ApplyReport:
    applied: int = 0
    failed: int = 0
    waiting: int = 0  # left pending: the registry could not be reached


def apply_pending(registry_id: int, *, limit: int = 10_000) -> ApplyReport:
    """Apply the registry's pending events, oldest first, up to ``limit``."""
    report = ApplyReport()
    while report.applied + report.failed < limit:
        done = _apply_batch(registry_id, report)
        if not done:
            break
    return report


def _apply_batch(registry_id: int, report: ApplyReport) -> int:
    """Apply one batch under the registry's lock; how many events were settled."""
    with transaction.atomic():
        # NO KEY UPDATE: one applier per registry at a time, while the endpoint keeps storing
        # events (their foreign key takes KEY SHARE on this row, which FOR UPDATE would block).
        registry = Registry.objects.select_for_update(no_key=True).filter(pk=registry_id).first()
        if registry is None:
            return 0
        events = list(
            registry.events.filter(status=RegistryEvent.Status.PENDING).order_by("pk")[:BATCH_SIZE]
        )
        if not events:
            return 0
        settled = 0
        with client_for(registry) as client:
            for event in events:
                try:
                    with transaction.atomic():
                        _apply(client, registry, event)
                        outbox.record_deliveries(registry, event)
                except (RegistryUnavailable, Unauthorized) as exc:
                    _record_failure(event, f"registry unavailable: {exc}", final=False)
                    report.waiting = registry.events.filter(
                        status=RegistryEvent.Status.PENDING
                    ).count()
                    return 0  # later events wait: they may depend on this one
                except Exception as exc:  # one bad event must not stop the rest
                    logger.exception("could not apply registry event %s", event.event_id)
                    final = event.attempts + 1 >= MAX_ATTEMPTS
                    _record_failure(event, f"{type(exc).__name__}: {exc}", final=final)
                    if not final:
                        return 0
                    report.failed += 1
                else:
                    event.status = RegistryEvent.Status.APPLIED
                    event.applied_at = timezone.now()
                    event.problem = ""
                    event.save(update_fields=["status", "applied_at", "problem"])
                    report.applied += 1
                settled += 1
        return settled


def _record_failure(event: RegistryEvent, problem: str, *, final: bool) -> None:
    event.attempts += 1
    event.problem = problem[:2000]
    if final:
        event.status = RegistryEvent.Status.MALFORMED
    event.save(update_fields=["attempts", "problem", "status"])


def _apply(client: RegistryClient, registry: Registry, event: RegistryEvent) -> None:
    when = event.occurred_at or timezone.now()
    if event.action == "push":
        _apply_push(client, registry, event, when)
    elif event.action == "pull":
        _apply_pull(registry, event, when)
    elif event.action == "delete":
        _apply_delete(registry, event)


def _apply_push(
    client: RegistryClient, registry: Registry, event: RegistryEvent, when: datetime
) -> None:
    repository = Repository.objects.filter(registry=registry, name=event.repository).first()
    created = repository is None
    if created:
        repository = Repository.objects.create(registry=registry, name=event.repository)
    try:
        manifest = index_manifest(client, repository, event.digest)
    except NotFound:
        # Deleted again before this event was applied; its delete event follows.
        if created:
            repository.delete()
        return
    if not event.tag:
        return
    tag = Tag.objects.filter(repository=repository, name=event.tag).first()
    if tag is None:
        Tag.objects.create(
            repository=repository, name=event.tag, manifest=manifest, updated_at=when
        )
    elif tag.manifest_id != manifest.pk:
        tag.manifest = manifest
        tag.updated_at = when
        tag.save(update_fields=["manifest", "updated_at"])


def _apply_pull(registry: Registry, event: RegistryEvent, when: datetime) -> None:
    in_repository = Q(repository__registry=registry, repository__name=event.repository)
    earlier = Q(last_pulled_at__isnull=True) | Q(last_pulled_at__lt=when)
    Manifest.objects.filter(in_repository, earlier, digest=event.digest).update(last_pulled_at=when)
    if event.tag:
        Tag.objects.filter(in_repository, earlier, name=event.tag).update(last_pulled_at=when)


def _apply_delete(registry: Registry, event: RegistryEvent) -> None:
    in_repository = Q(repository__registry=registry, repository__name=event.repository)
    if event.digest:
        Manifest.objects.filter(in_repository, digest=event.digest).delete()
    elif event.tag:
        Tag.objects.filter(in_repository, name=event.tag).delete()
