"""Reads shared by the HTML views and the API, so both list the same things the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connections, models, router
from django.db.models import Case, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce

from registry.models import Manifest, Namespace, Registry, Repository, Tag
from registry.models.index import INDEX_STAMPS, IsoTimestamp, LockFields, count_of

if TYPE_CHECKING:
    from registry.permissions.engine import Grants

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


def registry_list(*, visible_to: Grants | None = None) -> QuerySet[Registry]:
    """Registries by name with their repository, tag and namespace counts, in one query.

    With ``visible_to`` (what the viewer holds), only the registries it can see, and the counts
    of what it can see in each: AcrPull on namespace ``team-a`` counts ``team-a``'s repositories
    and tags, not the whole registry's, which would tell how much others keep there. Without
    it, every registry with everything it holds.
    """
    registries = Registry.objects.all()
    # Per registry seen only in part: which repositories, tags and namespaces to count there.
    repositories: dict[str, Q | None] = {}
    tags: dict[str, Q | None] = {}
    namespaces: dict[str, Q | None] = {}
    if visible_to is not None:
        condition = visible_to.registry_filter()
        if condition is not None:
            registries = registries.filter(condition)
        for name in _partly_visible(visible_to):
            repositories[name] = visible_to.name_filter(name)
            tags[name] = visible_to.name_filter(name, field="repository__name")
            namespaces[name] = visible_to.name_filter(name, namespaces=True)
    return registries.annotate(
        repository_count=_count_per_registry(Repository, "registry", repositories),
        tag_count=_count_per_registry(Tag, "repository__registry", tags),
        namespace_count=_count_per_registry(Namespace, "registry", namespaces),
    ).order_by("name")


def _partly_visible(grants: Grants) -> list[str]:
    """The registries (by name) where ``grants`` sees only some repositories: those with a
    namespace or repository grant in them and no assignment at the registry or above."""
    names = {
        grant.scope.registry.casefold()
        for grant in grants.grants
        if grant.scope.kind in {"namespace", "repository"}
    }
    return sorted(name for name in names if grants.name_filter(name) is not None)


def _count_where(model: type[models.Model], path: str, condition: Q | None) -> Subquery | Coalesce:
    """``count_of`` for the ``model`` rows that also match ``condition``."""
    if condition is None:
        return count_of(model, path)
    count = count_of(model, path, condition)
    # A condition that matches nothing (``pk__in=[]``) leaves no SQL to run: the subquery then
    # reads as NULL, and inside a ``Case`` its branch would be dropped for the default, the
    # count of everything. 0 is the answer.
    return Coalesce(count, 0)


def _count_per_registry(
    model: type[models.Model], path: str, conditions: dict[str, Q | None]
) -> Subquery | Case:
    """How many ``model`` rows each registry holds, counting only those matching
    ``conditions[name]`` in the registries named there.

    A registry not named keeps the plain count, so the query of someone who sees every
    registry whole is the same as with no viewer at all.
    """
    whole = count_of(model, path)
    if not conditions:
        return whole
    branches = [
        When(name__iexact=name, then=_count_where(model, path, condition))
        for name, condition in conditions.items()
    ]
    return Case(*branches, default=whole, output_field=models.IntegerField())


@dataclass(frozen=True)
class RegistryUsage:
    repository_count: int
    tag_count: int
    # Bytes of the top-level manifests (layers shared between images count once per image).
    storage_bytes: int


def registry_usage(*, registry: Registry, visible_to: Grants | None = None) -> RegistryUsage:
    """The repositories, tags and storage of ``registry``, in one query; with ``visible_to``,
    of the repositories it can see there (as ``registry_list`` counts them)."""

    def visible(field: str) -> Q | None:
        return None if visible_to is None else visible_to.name_filter(registry.name, field=field)

    top_level = Manifest.objects.filter(
        visible("repository__name") or Q(),
        repository__registry=OuterRef("pk"),
        parents__isnull=True,
    ).order_by()
    storage = top_level.values("repository__registry").annotate(total=Sum("size"))
    row = (
        Registry.objects.filter(pk=registry.pk)
        .annotate(
            repository_count=_count_where(Repository, "registry", visible("name")),
            tag_count=_count_where(Tag, "repository__registry", visible("repository__name")),
            storage_bytes=Coalesce(
                Subquery(storage.values("total"), output_field=models.BigIntegerField()), 0
            ),
        )
        .values("repository_count", "tag_count", "storage_bytes")
        .get()
    )
    return RegistryUsage(**row)


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

    def read() -> tuple[int, int | None] | None:
        with connections[router.db_for_read(Registry)].cursor() as cursor:
            cursor.execute(_INDEX_STAMP_SQL, [registry_name])
            row = cursor.fetchone()
        return None if row is None else (row[0], row[1])

    return INDEX_STAMPS.get(registry_name, read)


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
