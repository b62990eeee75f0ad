"""Reconcile the index with what a registry holds (``manage.py sync_registry``).

Three rules keep it safe to run at any time, against any registry:

- *Incremental*: manifests already in the index are never fetched again (a digest names its
  content for ever); a repository whose tags all point where the index says writes nothing.
- *Resumable*: after each repository the registry's ``sync_cursor`` records where the run got
  to; a run that stopped part way resumes after it.
- *Never deletes on a failed or partial read*: tags leave the index only after their repository's
  tag list was read in full, manifests only after the registry answers 404 for their digest, and
  repositories only after a run read the whole catalog from its first page to its last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from registry import audit
from registry.backend import (
    ImageConfig,
    ManifestDocument,
    NotFound,
    RegistryClient,
    RegistryError,
)
from registry.models import Manifest, Registry, Repository, Tag
from registry.models.index import lock_index

logger = logging.getLogger(__name__)

# HEAD requests for a repository's tags go out in parallel; the registry serves them cheaply.
TAG_LOOKUP_WORKERS = 8


@dataclass
class SyncReport:
    """What a sync changed, and what it could not read."""

    registry: str
    repositories_seen: int = 0
    repositories_added: list[str] = field(default_factory=list)
    repositories_removed: list[str] = field(default_factory=list)
    manifests_added: int = 0
    manifests_removed: int = 0
    tags_added: int = 0
    tags_moved: int = 0
    tags_removed: int = 0
    errors: list[str] = field(default_factory=list)
    resumed_after: str = ""
    completed: bool = False

    @property
    def changed(self) -> bool:
        return any(
            (
                self.repositories_added,
                self.repositories_removed,
                self.manifests_added,
                self.manifests_removed,
                self.tags_added,
                self.tags_moved,
                self.tags_removed,
            )
        )

    def summary(self) -> str:
        parts = [
            f"{self.repositories_seen} repositories read",
            f"+{len(self.repositories_added)}/-{len(self.repositories_removed)} repositories",
            f"+{self.manifests_added}/-{self.manifests_removed} manifests",
            f"+{self.tags_added}/~{self.tags_moved}/-{self.tags_removed} tags",
        ]
        if self.resumed_after:
            parts.append(f"resumed after {self.resumed_after!r}")
        if self.errors:
            parts.append(f"{len(self.errors)} error(s)")
        if not self.completed:
            parts.append("incomplete: nothing was removed")
        return ", ".join(parts)


@dataclass
class _FetchedManifest:
    document: ManifestDocument
    total_size: int
    created_at: datetime | None
    architecture: str = ""
    os: str = ""
    variant: str = ""
    children: list[_FetchedManifest] = field(default_factory=list)


def registry_sync(
    *,
    registry: Registry,
    client: RegistryClient | None = None,
    page_size: int = 100,
    restart: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SyncReport:
    """Bring the index of one registry in line with the registry itself."""
    from registry.services import client_for

    report = SyncReport(registry=registry.name)
    start_after = "" if restart else registry.sync_cursor
    report.resumed_after = start_after
    seen: set[str] = set()
    # Config blobs are content-addressed and often shared between images: read each once a run.
    configs: dict[str, ImageConfig | None] = {}
    own_client = client is None
    client = client or client_for(registry)
    try:
        for page in client.iter_catalog(page_size=page_size, last=start_after or None):
            for name in page:
                seen.add(name)
                report.repositories_seen += 1
                if _sync_repository(client, registry, name, report, configs):
                    _save_cursor(registry, name)
                if progress:
                    progress(name)
            # Unchanged repositories are cheap to read again, so the cursor moves on for them
            # once a page, which keeps a sync of an unchanged registry free of writes.
            if page and page[-1] != registry.sync_cursor and len(page) >= page_size:
                _save_cursor(registry, page[-1])
    except RegistryError as exc:
        report.errors.append(exc.message)
        logger.warning("sync of %s stopped: %s", registry.name, exc.message)
    else:
        report.completed = True
        if not start_after:
            _remove_missing_repositories(registry, seen, report)
    finally:
        if own_client:
            client.close()

    if report.completed:
        registry.sync_cursor = ""
        registry.last_synced_at = timezone.now()
        Registry.objects.filter(pk=registry.pk).update(
            sync_cursor="", last_synced_at=registry.last_synced_at
        )
    if report.changed:
        audit.record(
            actor=None,
            action="registry.sync",
            scope=registry.scope,
            summary=report.summary(),
            completed=report.completed,
        )
    return report


def _save_cursor(registry: Registry, name: str) -> None:
    registry.sync_cursor = name
    Registry.objects.filter(pk=registry.pk).update(sync_cursor=name)


def _remove_missing_repositories(registry: Registry, seen: set[str], report: SyncReport) -> None:
    gone = Repository.objects.filter(registry=registry).exclude(name__in=seen)
    # Compare in Python too: ``exclude(name__in=…)`` with a very large list is costly on SQLite.
    names = [name for name in gone.values_list("name", flat=True) if name not in seen]
    if names:
        with transaction.atomic():
            lock_index(registry.pk)
            Repository.objects.filter(registry=registry, name__in=names).delete()
        report.repositories_removed.extend(sorted(names))


def _sync_repository(
    client: RegistryClient,
    registry: Registry,
    name: str,
    report: SyncReport,
    configs: dict[str, ImageConfig | None],
) -> bool:
    """Reconcile one repository; returns whether the index changed."""
    try:
        tag_names = client.list_tags(name)
    except NotFound:
        # The catalog lists repositories whose manifests were all deleted; the registry's
        # answer is definitive: no tags.
        tag_names = []
    pointed = _resolve_tags(client, name, tag_names)

    repository = Repository.objects.filter(registry=registry, name=name).first()
    if repository is None and not pointed:
        # Distribution keeps listing a repository after its last manifest is deleted (the tag
        # list is null): nothing in it can be reached, and indexing it would bring a
        # repository deleted through the portal back, empty.
        return False
    known_digests: dict[str, Manifest] = {}
    known_tags: dict[str, Tag] = {}
    if repository is not None:
        known_digests = {m.digest: m for m in repository.manifests.all()}
        known_tags = {t.name: t for t in repository.tags.select_related("manifest")}

    fetched: dict[str, _FetchedManifest] = {}
    for digest in {d for d in pointed.values() if d not in known_digests}:
        fetched[digest] = _fetch_manifest(client, name, digest, known_digests, configs)

    unchanged = (
        repository is not None
        and not fetched
        and set(known_tags) == set(pointed)
        and all(known_tags[t].manifest.digest == d for t, d in pointed.items())
    )
    if unchanged:
        return _remove_deleted_untagged(
            client, repository, known_digests, set(pointed.values()), report
        )

    with transaction.atomic():
        lock_index(registry.pk)
        if repository is None:
            repository = Repository.objects.create(registry=registry, name=name)
            report.repositories_added.append(name)
        before = len(known_digests)
        for item in fetched.values():
            _store_manifest(repository, item, known_digests)
        report.manifests_added += len(known_digests) - before
        now = timezone.now()
        for tag_name, digest in pointed.items():
            manifest = known_digests[digest]
            existing = known_tags.get(tag_name)
            if existing is None:
                Tag.objects.create(
                    repository=repository,
                    name=tag_name,
                    manifest=manifest,
                    updated_at=manifest.created_at or now,
                )
                report.tags_added += 1
            elif existing.manifest_id != manifest.pk:
                existing.manifest = manifest
                existing.updated_at = now
                existing.save(update_fields=["manifest", "updated_at"])
                report.tags_moved += 1
        stale = [t.pk for name_, t in known_tags.items() if name_ not in pointed]
        if stale:
            Tag.objects.filter(pk__in=stale).delete()
            report.tags_removed += len(stale)
    _remove_deleted_untagged(client, repository, known_digests, set(pointed.values()), report)
    return True


def _resolve_tags(client: RegistryClient, name: str, tag_names: Iterable[str]) -> dict[str, str]:
    """tag → digest; a tag deleted between the list and the HEAD is left out."""
    tag_names = list(tag_names)

    def head(tag: str) -> tuple[str, str | None]:
        try:
            return tag, client.head_manifest(name, tag).digest
        except NotFound:
            return tag, None

    if len(tag_names) <= 1:
        results = [head(t) for t in tag_names]
    else:
        with ThreadPoolExecutor(max_workers=min(TAG_LOOKUP_WORKERS, len(tag_names))) as pool:
            results = list(pool.map(head, tag_names))
    return {tag: digest for tag, digest in results if digest is not None}


def _fetch_manifest(
    client: RegistryClient,
    repository: str,
    digest: str,
    known: dict[str, Manifest],
    configs: dict[str, ImageConfig | None],
) -> _FetchedManifest:
    """Read a manifest (an index with its children) and its configs from the registry."""
    document = client.get_manifest(repository, digest)
    if document.is_index:
        children: list[_FetchedManifest] = []
        sizes, created = [], []
        for child in document.children:
            if child.digest in known:
                sizes.append(known[child.digest].size)
                created.append(known[child.digest].created_at)
                continue
            fetched = _fetch_manifest(client, repository, child.digest, known, configs)
            if child.platform is not None and not fetched.architecture:
                fetched.architecture = child.platform.architecture
                fetched.os = child.platform.os
                fetched.variant = child.platform.variant
            children.append(fetched)
            sizes.append(fetched.total_size)
            if fetched.created_at is not None:
                created.append(fetched.created_at)
        return _FetchedManifest(
            document=document,
            total_size=document.size + sum(sizes),
            created_at=max(created) if created else None,
            children=children,
        )
    total = document.size + sum(layer.size for layer in document.layers)
    item = _FetchedManifest(document=document, total_size=total, created_at=None)
    if document.config is not None:
        total += document.config.size
        item.total_size = total
        config_digest = document.config.digest
        if config_digest not in configs:
            try:
                configs[config_digest] = client.get_image_config(repository, config_digest)
            except NotFound:
                configs[config_digest] = None
        config = configs[config_digest]
        if config is not None:
            item.architecture, item.os, item.variant = (
                config.architecture,
                config.os,
                config.variant,
            )
            item.created_at = config.created
    return item


def _store_manifest(
    repository: Repository, item: _FetchedManifest, known: dict[str, Manifest]
) -> Manifest:
    document = item.document
    manifest = known.get(document.digest)
    if manifest is not None:
        return manifest
    for child in item.children:
        _store_manifest(repository, child, known)
    children = [known[c.digest] for c in document.children if c.digest in known]
    manifest = Manifest.objects.create(
        repository=repository,
        digest=document.digest,
        media_type=document.media_type,
        size=item.total_size,
        config_digest=document.config.digest if document.config else "",
        architecture=item.architecture,
        os=item.os,
        variant=item.variant,
        layers=[
            {"digest": layer.digest, "size": layer.size, "media_type": layer.media_type}
            for layer in document.layers
        ],
        created_at=item.created_at or timezone.now(),
    )
    known[document.digest] = manifest
    if children:
        manifest.children.set(children)
    return manifest


def _remove_deleted_untagged(
    client: RegistryClient,
    repository: Repository,
    known: dict[str, Manifest],
    tagged: set[str],
    report: SyncReport,
) -> bool:
    """Drop index rows for untagged manifests that the registry says are gone (404)."""
    child_digests = set(
        Manifest.children.through.objects.filter(from_manifest__repository=repository).values_list(
            "to_manifest__digest", flat=True
        )
    )
    candidates = [
        m for d, m in known.items() if d not in tagged and d not in child_digests and m.pk
    ]
    gone = []
    for manifest in candidates:
        try:
            client.head_manifest(repository.name, manifest.digest)
        except NotFound:
            gone.append(manifest.pk)
    if gone:
        with transaction.atomic():
            lock_index(repository.registry_id)
            Manifest.objects.filter(pk__in=gone).delete()
        report.manifests_removed += len(gone)
    return bool(gone)


def index_manifest(client: RegistryClient, repository: Repository, digest: str) -> Manifest:
    """Read one manifest (an index with its children, and the image configs) from the registry
    and add it to the index; the row already there when it is known. ``NotFound`` when the
    registry no longer has it."""
    document = client.get_manifest(repository.name, digest)
    wanted = [digest, *(child.digest for child in document.children)]
    known = {m.digest: m for m in repository.manifests.filter(digest__in=wanted)}
    if digest in known:
        return known[digest]
    item = _fetch_manifest(client, repository.name, digest, known, {})
    return _store_manifest(repository, item, known)
