"""Reads shared by the HTML views and the API, so both list the same things the same way."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from registry.models import Manifest, Namespace, Registry, Repository, Tag

TAG_ORDERINGS = {
    "time_desc": ("-updated_at", "name"),
    "time_asc": ("updated_at", "name"),
    "name": ("name",),
}
DEFAULT_TAG_ORDER = "time_desc"


def registry_list() -> QuerySet[Registry]:
    return Registry.objects.annotate(
        repository_count=Count("repositories", distinct=True),
        namespace_count=Count("namespaces", distinct=True),
    )


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


def tag_list(*, repository: Repository, order: str = DEFAULT_TAG_ORDER) -> QuerySet[Tag]:
    ordering = TAG_ORDERINGS.get(order, TAG_ORDERINGS[DEFAULT_TAG_ORDER])
    return repository.tags.select_related("manifest", "repository__registry").order_by(*ordering)


def manifest_detail_queryset(*, repository: Repository) -> QuerySet[Manifest]:
    return repository.manifests.select_related("repository__registry").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("children", queryset=Manifest.objects.order_by("os", "architecture", "variant")),
    )
