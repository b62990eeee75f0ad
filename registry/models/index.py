"""The index: what a registry stores, kept up to date by sync (and, later, registry events).

Rows here mirror the registry; the registry stays the source of truth. Lock attributes
(ACR's ``writeEnabled``, ``deleteEnabled``, ``readEnabled``, ``listEnabled``) belong to the
portal and are enforced by its token server.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Func, OuterRef, Q, Subquery

from accounts.changes import INDEX, Memo, forget_on_commit
from registry.models.registries import Registry
from registry.validation import REPOSITORY_NAME_MAX_LENGTH


class LockFields(models.Model):
    write_enabled = models.BooleanField(default=True)
    delete_enabled = models.BooleanField(default=True)
    read_enabled = models.BooleanField(default=True)
    list_enabled = models.BooleanField(default=True)

    LOCK_FIELDS = ("write_enabled", "delete_enabled", "read_enabled", "list_enabled")

    class Meta:
        abstract = True


class CountRows(Func):
    """``COUNT(*)`` as a plain expression, for a correlated subquery that counts its rows.

    Django's ``Count`` is an aggregate and makes the subquery ``GROUP BY`` the outer key and
    count a column, which makes PostgreSQL read every row from the table; a bare ``COUNT(*)``
    is answered from the foreign-key index alone (an index-only scan), and is 0, never NULL,
    when nothing matches.
    """

    template = "COUNT(*)"
    output_field = models.IntegerField()


class IsoTimestamp(Func):
    """A timestamp as text in the API's shape (``2025-01-01T00:00:00.000000Z``), written by the
    database, so that long lists skip parsing each value into a datetime and printing it back.
    """

    output_field = models.CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text in SQLite.
        template = (
            "CASE WHEN instr(%(expressions)s, '.') > 0"
            " THEN replace(%(expressions)s, ' ', 'T') || 'Z'"
            " ELSE replace(%(expressions)s, ' ', 'T') || '.000000Z' END"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def count_of(model: type[models.Model], path: str, *conditions: Q, **filters: object) -> Subquery:
    """How many ``model`` rows point at the outer row through ``path`` (and match
    ``conditions`` and ``filters``), one per outer row."""
    rows = model.objects.filter(*conditions, **{path: OuterRef("pk")}, **filters).order_by()
    return Subquery(rows.annotate(n=CountRows()).values("n"), output_field=models.IntegerField())


class RepositoryQuerySet(models.QuerySet):
    def with_counts(self) -> RepositoryQuerySet:
        return self.annotate(
            tag_count=count_of(Tag, "repository"),
            manifest_count=count_of(Manifest, "repository"),
        )

    def in_namespace(self, namespace: str) -> RepositoryQuerySet:
        return self.filter(name__startswith=f"{namespace.rstrip('/')}/")

    def search(self, text: str) -> RepositoryQuerySet:
        return self.filter(name__contains=text.strip().lower()) if text.strip() else self


class Repository(LockFields):
    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="repositories")
    name = models.CharField(max_length=REPOSITORY_NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta(LockFields.Meta):
        abstract = False
        ordering = ["name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(fields=["registry", "name"], name="repository_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return f"{self.registry.scope}/repositories/{self.name}"

    @property
    def reference(self) -> str:
        """What a client puts before ``:tag``: ``host/name``."""
        return f"{self.registry.host}/{self.name}"


class ManifestQuerySet(models.QuerySet):
    def top_level(self) -> ManifestQuerySet:
        """Manifests that are not only children of an index (what people think of as images)."""
        return self.filter(Q(parents__isnull=True) | Q(tags__isnull=False)).distinct()


class Manifest(models.Model):
    """An image manifest or an index (manifest list) in one repository."""

    class MediaType(models.TextChoices):
        DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json", "Docker image"
        DOCKER_LIST = (
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "Docker manifest list",
        )
        OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json", "OCI image"
        OCI_INDEX = "application/vnd.oci.image.index.v1+json", "OCI index"

    INDEX_MEDIA_TYPES = frozenset({MediaType.DOCKER_LIST, MediaType.OCI_INDEX})

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=200)
    media_type = models.CharField(max_length=200)
    # The manifest, its config and its layers (for an index: the index and all its children).
    size = models.BigIntegerField(default=0)
    config_digest = models.CharField(max_length=200, blank=True)
    architecture = models.CharField(max_length=50, blank=True)
    os = models.CharField(max_length=50, blank=True)
    variant = models.CharField(max_length=50, blank=True)
    # [{"digest", "size", "media_type"}], in the manifest's order.
    layers = models.JSONField(default=list, blank=True)
    children = models.ManyToManyField("self", symmetrical=False, related_name="parents", blank=True)
    # When the image was built (the config's ``created``), else when the portal first saw it.
    created_at = models.DateTimeField()
    indexed_at = models.DateTimeField(auto_now_add=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)

    objects = ManifestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "digest"], name="manifest_unique_digest")
        ]

    def __str__(self) -> str:
        return self.digest

    @property
    def is_index(self) -> bool:
        return self.media_type in self.INDEX_MEDIA_TYPES

    @property
    def short_digest(self) -> str:
        return self.digest.split(":", 1)[-1][:12]

    @property
    def platform(self) -> str:
        parts = [p for p in (self.os, self.architecture, self.variant) if p]
        return "/".join(parts)

    @property
    def pull_reference(self) -> str:
        return f"{self.repository.reference}@{self.digest}"


class Tag(LockFields):
    # No index of its own: tag_unique_name and tag_by_time both start with it, and without a
    # bare one the planner walks tag_by_time in order instead of sorting a large repository.
    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="tags", db_index=False
    )
    name = models.CharField(max_length=128)
    # Deleting a manifest removes every tag that points at it, as the registry does.
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="tags")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()
    last_pulled_at = models.DateTimeField(null=True, blank=True)

    class Meta(LockFields.Meta):
        abstract = False
        ordering = ["-updated_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="tag_unique_name")
        ]
        # The tag list's time orders, read in index order (forward and backward) with no sort,
        # however many tags a repository has.
        indexes = [models.Index(fields=["repository", "-updated_at", "name"], name="tag_by_time")]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.name}"

    @property
    def pull_reference(self) -> str:
        return f"{self.repository.reference}:{self.name}"


class IndexStamp(models.Model):
    """A value that changes whenever anything a registry's index lists changes.

    The database writes it, not Django: triggers on the registry, repository, manifest and tag
    tables (migration ``0009_index_stamps``) set a new random value for the registry a
    statement touched, in that statement's own transaction, whichever code wrote the rows
    (services, sync, events, bulk updates, the admin), except a write of ``last_pulled_at``
    alone (a pull, ``0011_pulls_keep_index_stamps``). Readers that remember an answer keyed
    by the stamp (``registry.api.list_cache``) therefore never serve one from before a
    committed change; none of them may show when something was last pulled. Random rather
    than counted, so that a stamp is never seen twice: not after a registry is deleted and its
    id reused (SQLite reuses ids), nor after a database is restored from a backup.

    No foreign key: rows outlive their registry (a stamp written while its registry is being
    deleted must not fail the delete); ``registry_id`` is only ever read by registry.
    """

    registry_id = models.BigIntegerField(primary_key=True)
    stamp = models.BigIntegerField()

    def __str__(self) -> str:
        return f"registry {self.registry_id}: {self.stamp}"


# Registries' ids and stamps by name, while no index changes (accounts.changes; the triggers
# of 0009_index_stamps announce each new stamp, from 0010_index_changes on).
INDEX_STAMPS = Memo(INDEX)


def lock_index(registry_id: int) -> None:
    """Hold the registry's index for writing until the transaction ends (call inside one).

    Every transaction that writes a registry's repositories, manifests or tags also renews its
    stamp (``IndexStamp``), and so holds the stamp's row until it commits. Two such
    transactions that each lock rows the other then needs would deadlock on it; taking this
    lock first (the registry's row, ``FOR NO KEY UPDATE``, as the event applier does) makes
    writers of one registry queue up instead. Storing events (a foreign key to the registry,
    ``KEY SHARE``) never waits for it.
    """
    rows = Registry.objects.select_for_update(no_key=True).filter(pk=registry_id)
    list(rows.values_list("pk", flat=True))
    forget_on_commit(INDEX)
