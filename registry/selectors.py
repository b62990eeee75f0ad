"""Reads shared by the HTML views and the API, so both list the same things the same way."""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Prefetch, QuerySet, Subquery

from registry.models import Manifest, Namespace, Registry, Repository, Tag
from registry.models.index import IsoTimestamp, LockFields, count_of

TAG_ORDERINGS = {
    "time_desc": ("-updated_at", "name"),
    # Ties in time are broken by name; oldest first reads the same index backwards.
    "time_asc": ("updated_at", "-name"),
    "name": ("name",),
}
DEFAULT_TAG_ORDER = "time_desc"


# The columns of the API's repository and tag lists. Those lists read plain values rather than
# model instances: a page of 100 rows costs a fifth of the time, which keeps the portal's
# listings as fast as the registry's own (bench/catalog.py measures both).
REPOSITORY_ROW_FIELDS = ("name", "tag_count", "manifest_count", *LockFields.LOCK_FIELDS)
TAG_ROW_FIELDS = (
    "name",
    "manifest__digest",
    "manifest__media_type",
    "manifest__size",
    *LockFields.LOCK_FIELDS,
)


# Plain rows carry their times as the API's text under the API's names; the cursor pagination
# reads a row's position through this map.
ROW_TIME_KEYS = {"created_at": "created", "updated_at": "updated"}


def _row_times() -> dict[str, IsoTimestamp]:
    """``created`` and ``updated`` as the API's text, written by the database."""
    return {key: IsoTimestamp(field) for field, key in ROW_TIME_KEYS.items()}


def registry_list() -> QuerySet[Registry]:
    """Registries by name with their repository, tag and namespace counts, in one query."""
    return Registry.objects.annotate(
        repository_count=count_of(Repository, "registry"),
        tag_count=count_of(Tag, "repository__registry"),
        namespace_count=count_of(Namespace, "registry"),
    ).order_by("name")


def namespace_list(*, registry: Registry) -> QuerySet[Namespace]:
    return registry.namespaces.prefetch_related("owners")


def repository_list(
    *, registry: Registry, search: str = "", namespace: str = ""
) -> QuerySet[Repository]:
    repositories = Repository.objects.filter(registry=registry)
    if namespace:
        repositories = repositories.in_namespace(namespace)
    if search:
        repositories = repositories.search(search)
    return repositories.with_counts().select_related("registry")


def repository_rows(
    *, registry_name: str, search: str = "", namespace: str = ""
) -> QuerySet[Repository, dict[str, object]]:
    """``repository_list`` of the registry named ``registry_name`` (any case), as plain rows.

    The registry is matched in the same query, so an unknown one reads as an empty list; the
    caller tells the two apart when the page is empty. It is matched in a scalar subquery, not
    a join: the database then knows the registry before it plans the rest and walks the
    ``(registry, name)`` index in order instead of sorting the whole registry.
    """
    registry = Registry.objects.filter(name__iexact=registry_name).values("pk")
    repositories = Repository.objects.filter(registry_id=Subquery(registry))
    if namespace:
        repositories = repositories.in_namespace(namespace)
    if search:
        repositories = repositories.search(search)
    return repositories.with_counts().values(*REPOSITORY_ROW_FIELDS, **_row_times())


def tag_rows(
    *, registry_name: str, repository_name: str, order: str = DEFAULT_TAG_ORDER
) -> QuerySet[Tag, dict[str, object]]:
    """``tag_list`` of a repository named by its path, as plain rows (see ``repository_rows``)."""
    ordering = TAG_ORDERINGS.get(order, TAG_ORDERINGS[DEFAULT_TAG_ORDER])
    repository = Repository.objects.filter(
        registry__name__iexact=registry_name, name=repository_name
    ).values("pk")
    return (
        Tag.objects.filter(repository_id=Subquery(repository))
        .order_by(*ordering)
        .values(*TAG_ROW_FIELDS, **_row_times())
    )


def index_stamp(registry_name: str) -> tuple[int, int | None] | None:
    """The id and index stamp (``IndexStamp``) of the registry named ``registry_name`` (any
    case); None when there is no such registry, a None stamp where the database keeps none.

    A fixed statement rather than a queryset: cached lists ask it on every request, and the
    ORM took four times longer to build the query than the database to answer it. It matches
    the name through ``lower(name)``, the expression of the registries' unique index.
    """
    with connections[router.db_for_read(Registry)].cursor() as cursor:
        cursor.execute(_INDEX_STAMP_SQL, [registry_name])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


_INDEX_STAMP_SQL = (
    "SELECT r.id, s.stamp FROM registry_registry r "
    "LEFT JOIN registry_indexstamp s ON s.registry_id = r.id "
    "WHERE lower(r.name) = lower(%s)"
)


def tag_list(*, repository: Repository, order: str = DEFAULT_TAG_ORDER) -> QuerySet[Tag]:
    ordering = TAG_ORDERINGS.get(order, TAG_ORDERINGS[DEFAULT_TAG_ORDER])
    return repository.tags.select_related("manifest", "repository__registry").order_by(*ordering)


def manifest_detail_queryset(*, repository: Repository) -> QuerySet[Manifest]:
    return repository.manifests.select_related("repository__registry").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("children", queryset=Manifest.objects.order_by("os", "architecture", "variant")),
    )
