"""REST API v1: parse, look up, call a service, render.

Names in the URL are checked against their grammar before anything is looked up, so a malformed
name is a 400 that says what is wrong with it and an unknown one a 404. Reads go through
``registry.selectors`` and writes through ``registry.services``; every error leaves through
``registry.api.errors`` as an RFC 9457 problem.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from registry import selectors, services
from registry.api.errors import PROBLEM_CONTENT_TYPE, Conflict
from registry.api.list_cache import IndexListCache
from registry.api.permissions import authorize
from registry.api.schema import (
    DIGEST_PARAMETER,
    NAMESPACE_PARAMETER,
    REGISTRY_CALL_PROBLEMS,
    REGISTRY_PARAMETER,
    REPOSITORY_PARAMETER,
    TAG_PARAMETER,
    ApiSchema,
)
from registry.api.serializers import (
    AdminPasswordRegenerateSerializer,
    AdminPasswordSerializer,
    AdminUserSerializer,
    LocksSerializer,
    ManifestSerializer,
    NamespaceSerializer,
    NamespaceUpdateSerializer,
    RegistryEventQuerySerializer,
    RegistryEventSerializer,
    RegistrySerializer,
    RegistryUpdateSerializer,
    RepositoryListQuerySerializer,
    RepositorySerializer,
    TagListQuerySerializer,
    TagSerializer,
    repository_row_data,
    tag_row_data,
)
from registry.models import Manifest, Namespace, Registry, RegistryEvent, Repository, Tag
from registry.validation import (
    DIGEST_RE,
    REGISTRY_NAME_RE,
    REPOSITORY_NAME_MAX_LENGTH,
    REPOSITORY_NAME_RE,
    TAG_RE,
    validate_digest,
    validate_registry_name,
    validate_repository_name,
    validate_tag,
)
from registry.views import access

# Lookups ---------------------------------------------------------------------------------


def _check(parameter: str, is_valid: bool, message: str) -> None:
    if not is_valid:
        raise exceptions.ValidationError({parameter: [message]})


def _registry_name(name: str) -> None:
    _check("registry", bool(REGISTRY_NAME_RE.fullmatch(name)), validate_registry_name.message)


def _repository_name(name: str, parameter: str = "repository") -> None:
    is_valid = len(name) <= REPOSITORY_NAME_MAX_LENGTH and bool(REPOSITORY_NAME_RE.fullmatch(name))
    _check(parameter, is_valid, validate_repository_name.message)


def _tag_name(name: str) -> None:
    _check("tag", bool(TAG_RE.fullmatch(name)), validate_tag.message)


def _digest(digest: str) -> None:
    is_valid = len(digest) <= 200 and bool(DIGEST_RE.fullmatch(digest))
    _check("digest", is_valid, validate_digest.message)


def _one(queryset: QuerySet[Any], missing: str, **lookup: Any) -> Any:
    """The one row of ``queryset`` matching ``lookup``; a 404 saying ``missing`` otherwise."""
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:
        raise exceptions.NotFound(missing) from None


def _get_registry(
    request: Request, name: str, action: str | None, queryset: QuerySet[Registry] | None = None
) -> Registry:
    """The registry ``name`` once the caller may do ``action`` there (None: may see it)."""
    _registry_name(name)
    authorize(request, action, access.registry_scope(name))
    queryset = queryset if queryset is not None else Registry.objects.all()
    return _one(queryset, f"There is no registry named {name!r}.", name__iexact=name)


def _get_namespace(registry: Registry, name: str) -> Namespace:
    missing = f"Registry {registry.name!r} has no namespace named {name!r}."
    return _one(selectors.namespace_list(registry=registry), missing, name=name)


def _get_repository(registry: Registry, name: str, *, with_counts: bool = False) -> Repository:
    queryset = (
        selectors.repository_list(registry=registry)
        if with_counts
        else Repository.objects.select_related("registry").filter(registry=registry)
    )
    missing = f"Registry {registry.name!r} has no repository named {name!r}."
    return _one(queryset, missing, name=name)


def _repository_at(
    request: Request, registry_name: str, repository_name: str, action: str, **options: Any
) -> Repository:
    """The repository at a path, once both names are well formed and the caller may do
    ``action`` on it."""
    _registry_name(registry_name)
    _repository_name(repository_name)
    authorize(request, action, access.repository_scope(registry_name, repository_name))
    registry = _one(
        Registry.objects.all(),
        f"There is no registry named {registry_name!r}.",
        name__iexact=registry_name,
    )
    return _get_repository(registry, repository_name, **options)


def _get_tag(repository: Repository, name: str) -> Tag:
    missing = f"Repository {repository.name!r} has no tag {name!r}."
    return _one(selectors.tag_list(repository=repository), missing, name=name)


def _get_manifest(repository: Repository, digest: str) -> Manifest:
    missing = f"Repository {repository.name!r} has no manifest {digest!r}."
    return _one(selectors.manifest_detail_queryset(repository=repository), missing, digest=digest)


def _valid(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> Any:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _created(request: Request, data: Any, route: str, **kwargs: str) -> Response:
    location = request.build_absolute_uri(reverse(route, kwargs=kwargs))
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


# The base of every API view: GenericAPIView for pagination, and the schema that documents
# problem responses. (A comment, not a docstring: OpenAPI would show it on every operation.)
# Each view's ``serializer_class`` is the one OPTIONS and the browsable API describe: the input
# of its writes, or its output when it has none.
class ApiView(GenericAPIView):
    schema = ApiSchema()
    problem_statuses: dict[str, tuple[int, ...]] = {}

    def list_response(
        self, serializer_class: type[serializers.Serializer] | None = None
    ) -> Response:
        """A page of ``get_queryset()`` shaped by ``serializer_class`` (the view's own unless
        given: a list whose view's serializer describes its writes names its output one)."""
        page = self.paginate_queryset(self.get_queryset())
        if serializer_class is None:
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        context = self.get_serializer_context()
        return self.get_paginated_response(serializer_class(page, many=True, context=context).data)

    @property
    def is_schema_generation(self) -> bool:
        # drf-spectacular inspects views without a request to read names or filters from.
        return getattr(self, "swagger_fake_view", False)


# Registries ------------------------------------------------------------------------------


@extend_schema(tags=["registries"])
class RegistryList(ApiView):
    serializer_class = RegistrySerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="registry_list",
        summary="List registries",
        responses={200: RegistrySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[Registry]:
        if self.is_schema_generation:
            return Registry.objects.none()
        return selectors.registry_list(visible_to=access.grants(self.request))

    @extend_schema(
        operation_id="registry_create",
        summary="Add a registry",
        request=RegistrySerializer,
        responses={201: RegistrySerializer},
    )
    def post(self, request: Request) -> Response:
        authorize(request, "registry/write", access.ROOT_SCOPE)
        data = _valid(RegistrySerializer, request.data)
        existing = Registry.objects.filter(name__iexact=data["name"]).first()
        if existing is not None:
            raise Conflict(f"A registry named {existing.name!r} already exists.")
        registry = services.registry_create(actor=request.user, **data)
        registry = selectors.registry_list(visible_to=access.grants(request)).get(pk=registry.pk)
        body = RegistrySerializer(registry).data
        return _created(request, body, "api:registry-detail", registry=registry.name)


@extend_schema(tags=["registries"], parameters=[REGISTRY_PARAMETER])
class RegistryDetail(ApiView):
    serializer_class = RegistryUpdateSerializer

    @extend_schema(
        operation_id="registry_retrieve",
        summary="Show a registry",
        responses={200: RegistrySerializer},
    )
    def get(self, request: Request, registry: str) -> Response:
        visible = selectors.registry_list(visible_to=access.grants(request))
        found = _get_registry(request, registry, None, visible)
        return Response(RegistrySerializer(found).data)

    @extend_schema(
        operation_id="registry_update",
        summary="Change a registry",
        request=RegistryUpdateSerializer,
        responses={200: RegistrySerializer},
    )
    def patch(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/write")
        changes = _valid(RegistryUpdateSerializer, request.data, partial=True)
        services.registry_update(actor=request.user, registry=found, **changes)
        found = selectors.registry_list(visible_to=access.grants(request)).get(pk=found.pk)
        return Response(RegistrySerializer(found).data)

    @extend_schema(
        operation_id="registry_delete",
        summary="Forget a registry",
        description="Removes the registry and its index from the portal; the images stored in "
        "the registry are not touched.",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/delete")
        services.registry_delete(actor=request.user, registry=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Namespaces ------------------------------------------------------------------------------


@extend_schema(tags=["namespaces"], parameters=[REGISTRY_PARAMETER])
class NamespaceList(ApiView):
    serializer_class = NamespaceSerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="namespace_list",
        summary="List namespaces",
        responses={200: NamespaceSerializer(many=True)},
    )
    def get(self, request: Request, registry: str) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[Namespace]:
        if self.is_schema_generation:
            return Namespace.objects.none()
        found = _get_registry(self.request, self.kwargs["registry"], None)
        return access.visible_namespaces(
            self.request, found, selectors.namespace_list(registry=found)
        )

    @extend_schema(
        operation_id="namespace_create",
        summary="Add a namespace",
        request=NamespaceSerializer,
        responses={201: NamespaceSerializer},
    )
    def post(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/write")
        data = _valid(NamespaceSerializer, request.data)
        if found.namespaces.filter(name=data["name"]).exists():
            raise Conflict(
                f"Registry {found.name!r} already has a namespace named {data['name']!r}."
            )
        namespace = services.namespace_create(actor=request.user, registry=found, **data)
        body = NamespaceSerializer(_get_namespace(found, namespace.name)).data
        return _created(
            request, body, "api:namespace-detail", registry=found.name, namespace=namespace.name
        )


@extend_schema(tags=["namespaces"], parameters=[REGISTRY_PARAMETER, NAMESPACE_PARAMETER])
class NamespaceDetail(ApiView):
    serializer_class = NamespaceUpdateSerializer

    def _namespace(self, registry: str, namespace: str, action: str | None) -> Namespace:
        _registry_name(registry)
        _repository_name(namespace, "namespace")
        authorize(self.request, action, access.namespace_scope(registry, namespace))
        return _get_namespace(_get_registry(self.request, registry, None), namespace)

    @extend_schema(
        operation_id="namespace_retrieve",
        summary="Show a namespace",
        responses={200: NamespaceSerializer},
    )
    def get(self, request: Request, registry: str, namespace: str) -> Response:
        return Response(NamespaceSerializer(self._namespace(registry, namespace, None)).data)

    @extend_schema(
        operation_id="namespace_update",
        summary="Change a namespace's description or owners",
        request=NamespaceUpdateSerializer,
        responses={200: NamespaceSerializer},
    )
    def patch(self, request: Request, registry: str, namespace: str) -> Response:
        found = self._namespace(registry, namespace, "registry/write")
        changes = _valid(NamespaceUpdateSerializer, request.data, partial=True)
        services.namespace_update(actor=request.user, namespace=found, **changes)
        return Response(NamespaceSerializer(_get_namespace(found.registry, found.name)).data)

    @extend_schema(
        operation_id="namespace_delete",
        summary="Remove a namespace",
        description="The repositories under the namespace's prefix stay.",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str, namespace: str) -> Response:
        services.namespace_delete(
            actor=request.user, namespace=self._namespace(registry, namespace, "registry/write")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# Repositories ----------------------------------------------------------------------------


@extend_schema(tags=["repositories"], parameters=[REGISTRY_PARAMETER])
class RepositoryList(IndexListCache, ApiView):
    serializer_class = RepositorySerializer
    pagination_ordering = ("name",)

    @extend_schema(
        operation_id="repository_list",
        summary="List repositories",
        parameters=[RepositoryListQuerySerializer],
        responses={200: RepositorySerializer(many=True)},
    )
    def get(self, request: Request, registry: str) -> Response:
        query = self._authorized_query()
        # What the caller may see decides which repositories are listed.
        kept = self.remembered(request, registry, access.grants(request).fingerprint())
        if kept is not None:
            return kept
        page = self.paginate_queryset(self._rows(query))
        if not page:
            # 404 for an unknown registry, not an empty list
            found = _get_registry(request, registry, None)
            scope = found.scope
        else:
            scope = f"/registries/{page[0]['registry__name']}"
        return self.get_paginated_response([repository_row_data(row, scope) for row in page])

    def get_queryset(self) -> QuerySet[Repository, dict[str, Any]]:
        if self.is_schema_generation:
            return Repository.objects.none()
        return self._rows(self._authorized_query())

    def _authorized_query(self) -> dict[str, Any]:
        """The list's filters, once the registry's name is well formed and the caller may see
        it."""
        name = self.kwargs["registry"]
        _registry_name(name)
        authorize(self.request, None, access.registry_scope(name))
        return _valid(RepositoryListQuerySerializer, self.request.query_params)

    def _rows(self, query: dict[str, Any]) -> QuerySet[Repository, dict[str, Any]]:
        name = self.kwargs["registry"]
        rows = selectors.repository_rows(
            registry_name=name,
            search=query.get("search", ""),
            namespace=query.get("namespace", ""),
        )
        return access.visible_repositories(self.request, name, rows).values(
            *selectors.REPOSITORY_ROW_FIELDS, "created", "updated", "registry__name"
        )


@extend_schema(tags=["repositories"], parameters=[REGISTRY_PARAMETER, REPOSITORY_PARAMETER])
class RepositoryDetail(ApiView):
    serializer_class = LocksSerializer
    problem_statuses = {"DELETE": REGISTRY_CALL_PROBLEMS}

    @extend_schema(
        operation_id="repository_retrieve",
        summary="Show a repository",
        responses={200: RepositorySerializer},
    )
    def get(self, request: Request, registry: str, repository: str) -> Response:
        found = _repository_at(request, registry, repository, "metadata/read", with_counts=True)
        return Response(RepositorySerializer(found).data)

    @extend_schema(
        operation_id="repository_update",
        summary="Lock or unlock a repository",
        request=LocksSerializer,
        responses={200: RepositorySerializer},
    )
    def patch(self, request: Request, registry: str, repository: str) -> Response:
        found = _repository_at(request, registry, repository, "metadata/write")
        locks = _valid(LocksSerializer, request.data)
        services.repository_update_locks(actor=request.user, repository=found, **locks)
        found = _get_repository(found.registry, found.name, with_counts=True)
        return Response(RepositorySerializer(found).data)

    @extend_schema(
        operation_id="repository_delete",
        summary="Delete a repository",
        description="Deletes every manifest of the repository in the registry, then the "
        "repository in the index. If the registry fails part way, what was deleted leaves the "
        "index and the rest stays.",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str, repository: str) -> Response:
        found = _repository_at(request, registry, repository, "content/delete")
        services.repository_delete(actor=request.user, repository=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Tags ------------------------------------------------------------------------------------


@extend_schema(tags=["tags"], parameters=[REGISTRY_PARAMETER, REPOSITORY_PARAMETER])
class TagList(IndexListCache, ApiView):
    serializer_class = TagSerializer

    def get_pagination_ordering(self) -> tuple[str, ...]:
        return selectors.TAG_ORDERINGS[self.orderby()]

    def orderby(self) -> str:
        given = self.request.query_params.get("orderby", selectors.DEFAULT_TAG_ORDER)
        if given in selectors.TAG_ORDERINGS:
            return given  # asked on every request, kept pages too: no serializer for this
        return _valid(TagListQuerySerializer, self.request.query_params)["orderby"]

    @extend_schema(
        operation_id="tag_list",
        summary="List a repository's tags",
        parameters=[TagListQuerySerializer],
        responses={200: TagSerializer(many=True)},
    )
    def get(self, request: Request, registry: str, repository: str) -> Response:
        self._authorize()
        # Whoever may read the repository's metadata gets the same list.
        kept = self.remembered(request, registry)
        if kept is not None:
            return kept
        page = self.paginate_queryset(self._rows())
        if not page:
            # 404 for an unknown path, not an empty list
            _repository_at(request, registry, repository, "metadata/read")
        return self.get_paginated_response([tag_row_data(row) for row in page])

    def get_queryset(self) -> QuerySet[Tag, dict[str, Any]]:
        if self.is_schema_generation:
            return Tag.objects.none()
        self._authorize()
        return self._rows()

    def _authorize(self) -> None:
        """Return once both names are well formed and the caller may read the repository."""
        _registry_name(self.kwargs["registry"])
        _repository_name(self.kwargs["repository"])
        scope = access.repository_scope(self.kwargs["registry"], self.kwargs["repository"])
        authorize(self.request, "metadata/read", scope)
        self.orderby()  # a bad ordering is a 400 before anything is looked up

    def _rows(self) -> QuerySet[Tag, dict[str, Any]]:
        return selectors.tag_rows(
            registry_name=self.kwargs["registry"],
            repository_name=self.kwargs["repository"],
            order=self.orderby(),
        )


@extend_schema(tags=["tags"], parameters=[REGISTRY_PARAMETER, REPOSITORY_PARAMETER, TAG_PARAMETER])
class TagDetail(ApiView):
    serializer_class = LocksSerializer
    problem_statuses = {"DELETE": REGISTRY_CALL_PROBLEMS}

    def _tag(self, registry: str, repository: str, tag: str, action: str) -> Tag:
        _registry_name(registry)
        _repository_name(repository)
        _tag_name(tag)
        return _get_tag(_repository_at(self.request, registry, repository, action), tag)

    @extend_schema(
        operation_id="tag_retrieve", summary="Show a tag", responses={200: TagSerializer}
    )
    def get(self, request: Request, registry: str, repository: str, tag: str) -> Response:
        return Response(TagSerializer(self._tag(registry, repository, tag, "metadata/read")).data)

    @extend_schema(
        operation_id="tag_update",
        summary="Lock or unlock a tag",
        request=LocksSerializer,
        responses={200: TagSerializer},
    )
    def patch(self, request: Request, registry: str, repository: str, tag: str) -> Response:
        found = self._tag(registry, repository, tag, "metadata/write")
        locks = _valid(LocksSerializer, request.data)
        services.tag_update_locks(actor=request.user, tag=found, **locks)
        return Response(TagSerializer(found).data)

    @extend_schema(
        operation_id="tag_delete",
        summary="Untag",
        description="Removes the tag and keeps its manifest. Registries that cannot delete by "
        "tag (distribution 2.8) refuse with 409; delete the manifest instead, which removes "
        "every tag on it.",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str, repository: str, tag: str) -> Response:
        found = self._tag(registry, repository, tag, "metadata/write")
        services.tag_delete(actor=request.user, tag=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Manifests -------------------------------------------------------------------------------


@extend_schema(tags=["manifests"], parameters=[REGISTRY_PARAMETER, REPOSITORY_PARAMETER])
class ManifestList(ApiView):
    serializer_class = ManifestSerializer
    pagination_ordering = ("-created_at", "digest")

    @extend_schema(
        operation_id="manifest_list",
        summary="List a repository's manifests",
        description="Every manifest in the repository, newest first, the children of "
        "multi-platform indexes and untagged manifests included.",
        responses={200: ManifestSerializer(many=True)},
    )
    def get(self, request: Request, registry: str, repository: str) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[Manifest]:
        if self.is_schema_generation:
            return Manifest.objects.none()
        repository = _repository_at(
            self.request, self.kwargs["registry"], self.kwargs["repository"], "metadata/read"
        )
        return selectors.manifest_detail_queryset(repository=repository)


@extend_schema(
    tags=["manifests"], parameters=[REGISTRY_PARAMETER, REPOSITORY_PARAMETER, DIGEST_PARAMETER]
)
class ManifestDetail(ApiView):
    serializer_class = ManifestSerializer
    problem_statuses = {"DELETE": REGISTRY_CALL_PROBLEMS}

    def _manifest(self, registry: str, repository: str, digest: str, action: str) -> Manifest:
        _registry_name(registry)
        _repository_name(repository)
        _digest(digest)
        return _get_manifest(_repository_at(self.request, registry, repository, action), digest)

    @extend_schema(
        operation_id="manifest_retrieve",
        summary="Show a manifest",
        responses={200: ManifestSerializer},
    )
    def get(self, request: Request, registry: str, repository: str, digest: str) -> Response:
        return Response(
            ManifestSerializer(self._manifest(registry, repository, digest, "metadata/read")).data
        )

    @extend_schema(
        operation_id="manifest_delete",
        summary="Delete a manifest",
        description="Deletes the manifest in the registry, then in the index with every tag "
        "that points at it. A registry that is down leaves the index as it was (503).",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str, repository: str, digest: str) -> Response:
        found = self._manifest(registry, repository, digest, "content/delete")
        services.manifest_delete(actor=request.user, manifest=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# The admin user -------------------------------------------------------------------------


def _admin_user_data(registry: Registry, values: dict[str, str] | None = None) -> dict[str, Any]:
    """The admin user's state; password values only when they were just generated."""
    values = values or {}
    passwords = []
    for row in registry.admin_passwords.filter(revoked_at__isnull=True).order_by("name"):
        item = AdminPasswordSerializer(row).data
        if row.name in values:
            item["value"] = values[row.name]
        passwords.append(item)
    data = {"enabled": registry.admin_user_enabled, "username": registry.name}
    return {**data, "passwords": passwords}


def _no_store(response: Response) -> Response:
    patch_cache_control(response, no_store=True)
    return response


@extend_schema(tags=["registries"], parameters=[REGISTRY_PARAMETER])
class AdminUserDetail(ApiView):
    serializer_class = AdminUserSerializer

    @extend_schema(
        operation_id="registry_admin_user_retrieve",
        summary="Show the registry's admin user",
        description="Whether it is enabled, its user name (the registry's name) and its "
        "passwords' hints; password values are only in the answer that generates them.",
        responses={200: AdminUserSerializer},
    )
    def get(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/write")
        return Response(_admin_user_data(found))

    @extend_schema(
        operation_id="registry_admin_user_update",
        summary="Enable or disable the registry's admin user",
        description="Enabling generates two new passwords, answered once; disabling revokes "
        "them. Turning it on again never brings old passwords back.",
        request=AdminUserSerializer,
        responses={200: AdminUserSerializer},
    )
    def put(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/write")
        wanted = _valid(AdminUserSerializer, request.data)["enabled"]
        values = services.admin_user_set_enabled(actor=request.user, registry=found, enabled=wanted)
        found.refresh_from_db()
        return _no_store(Response(_admin_user_data(found, values)))


@extend_schema(tags=["registries"], parameters=[REGISTRY_PARAMETER])
class AdminUserRegenerate(ApiView):
    serializer_class = AdminPasswordRegenerateSerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="registry_admin_user_regenerate",
        summary="Regenerate one of the admin user's passwords",
        description="The other password keeps working, so clients can move over; 409 while "
        "the admin user is disabled.",
        request=AdminPasswordRegenerateSerializer,
        responses={200: AdminUserSerializer},
    )
    def post(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, "registry/write")
        name = _valid(AdminPasswordRegenerateSerializer, request.data)["name"]
        value = services.admin_user_regenerate(actor=request.user, registry=found, name=name)
        return _no_store(Response(_admin_user_data(found, {name: value})))


# Registry events ------------------------------------------------------------------------


@extend_schema(tags=["events"], parameters=[REGISTRY_PARAMETER])
class RegistryEventList(ApiView):
    serializer_class = RegistryEventSerializer
    pagination_ordering = ("-received_at", "-id")

    @extend_schema(
        operation_id="registry_event_list",
        summary="List what the registry reported",
        description="Pushes, pulls and deletes the registry notified, newest first, for the "
        "repositories the caller can see; malformed and ignored events are listed too.",
        parameters=[RegistryEventQuerySerializer],
        responses={200: RegistryEventSerializer(many=True)},
    )
    def get(self, request: Request, registry: str) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[RegistryEvent]:
        if self.is_schema_generation:
            return RegistryEvent.objects.none()
        found = _get_registry(self.request, self.kwargs["registry"], None)
        query = _valid(RegistryEventQuerySerializer, self.request.query_params)
        events = RegistryEvent.objects.filter(registry=found, **query)
        return access.visible_repositories(self.request, found.name, events, field="repository")


# Anything else ---------------------------------------------------------------------------


@csrf_exempt
def endpoint_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """A problem, not an HTML page, for paths under the API that name no endpoint."""
    detail = f"There is no API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(f"{request.path}/")
        except Resolver404:
            match = None
        if match is not None and match.func is not endpoint_not_found:
            detail += f" API paths end with a slash: {request.path}/"
    body = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": detail}
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
