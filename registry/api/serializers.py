"""What the API reads and writes. Field names are a promise to callers (see DESIGN.md).

Serializers only shape and check data; writes go through ``registry.services``. Input is
strict: a field the serializer does not know, or will not change, is a 400 rather than being
silently ignored, so a typo (``writeEnabled``) never looks like a successful lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from registry.models import Manifest, Tier
from registry.models.registries import validate_login_server
from registry.selectors import DEFAULT_TAG_ORDER, TAG_ORDERINGS
from registry.validation import (
    REPOSITORY_NAME_MAX_LENGTH,
    validate_registry_name,
    validate_repository_name,
)

READ_ONLY = "This field is read-only."
UNKNOWN_FIELD = "Unknown field."


class StrictSerializer(serializers.Serializer):
    """Refuses input fields it does not know or will not change."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            extra = sorted(set(data) - writable)
            if extra:
                raise serializers.ValidationError(
                    {name: [READ_ONLY if name in self.fields else UNKNOWN_FIELD] for name in extra}
                )
        return super().to_internal_value(data)


# Problems --------------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: every error the API answers has this shape."""

    type = serializers.CharField(help_text="A URI naming the problem type; `about:blank` if none.")
    title = serializers.CharField(help_text="A short summary of the problem type.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong this time, for a person to read.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For invalid input: messages by field (or path/query parameter) name.",
    )


# Registries ------------------------------------------------------------------------------


class RegistryHealthSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField(source="health_checked_at", allow_null=True)
    healthy = serializers.BooleanField(source="is_healthy", allow_null=True)
    detail = serializers.CharField(source="health_detail")


class TierLimitsSerializer(serializers.Serializer):
    webhooks = serializers.IntegerField()
    included_storage_gib = serializers.IntegerField()
    namespaces = serializers.IntegerField(allow_null=True, help_text="null: unlimited")


class RegistrySerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=50,
        validators=[validate_registry_name],
        help_text="5 to 50 letters and digits; unique, ignoring case. Cannot be changed.",
    )
    login_server = serializers.CharField(
        max_length=255,
        validators=[validate_login_server],
        help_text="The registry's base URL, e.g. https://registry.example.com",
    )
    service = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="The service name the registry puts in token requests (default: its host).",
    )
    tier = serializers.ChoiceField(choices=Tier.choices, required=False, default=Tier.STANDARD)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    scope = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)
    last_synced = serializers.DateTimeField(source="last_synced_at", read_only=True)
    health = RegistryHealthSerializer(source="*", read_only=True)
    limits = TierLimitsSerializer(read_only=True)
    repository_count = serializers.IntegerField(read_only=True)
    namespace_count = serializers.IntegerField(read_only=True)


class RegistryUpdateSerializer(RegistrySerializer):
    name = serializers.CharField(read_only=True)
    login_server = serializers.CharField(
        max_length=255, validators=[validate_login_server], required=False
    )
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


# Namespaces ------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class UsernameField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "There is no user named '{value}'.",
        "invalid": "Usernames are strings.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", queryset=User.objects.all(), **kwargs)


class NamespaceSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=REPOSITORY_NAME_MAX_LENGTH,
        validators=[validate_repository_name],
        help_text="A repository-name prefix such as team-a or team-a/backend. Cannot be changed.",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owners = UsernameField(
        many=True, required=False, default=list, help_text="Usernames of the namespace's owners."
    )
    approvals_required = serializers.ChoiceField(
        choices=[1, 2],
        required=False,
        default=1,
        help_text="How many team leads must approve an access request here (1 or 2).",
    )
    permanent_grants_allowed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Whether access requests here may ask for a grant that never expires.",
    )
    scope = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)


class NamespaceUpdateSerializer(NamespaceSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(required=False, allow_blank=True)
    owners = UsernameField(many=True, required=False)
    approvals_required = serializers.ChoiceField(choices=[1, 2], required=False)
    permanent_grants_allowed = serializers.BooleanField(required=False)


# Repositories and tags -------------------------------------------------------------------


class LocksSerializer(StrictSerializer):
    """ACR's lock attributes; the token server enforces them whatever the caller's role."""

    write_enabled = serializers.BooleanField(required=False, help_text="Pushes allowed.")
    delete_enabled = serializers.BooleanField(required=False, help_text="Deletes allowed.")
    read_enabled = serializers.BooleanField(required=False, help_text="Pulls allowed.")
    list_enabled = serializers.BooleanField(required=False, help_text="Shown in lists.")


class RepositorySerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    tag_count = serializers.IntegerField(read_only=True)
    manifest_count = serializers.IntegerField(read_only=True)
    write_enabled = serializers.BooleanField(read_only=True)
    delete_enabled = serializers.BooleanField(read_only=True)
    read_enabled = serializers.BooleanField(read_only=True)
    list_enabled = serializers.BooleanField(read_only=True)
    scope = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)


def repository_row_data(row: Mapping[str, Any], registry_scope: str) -> dict[str, Any]:
    """``RepositorySerializer``'s output for a ``selectors.repository_rows`` row."""
    return {
        "name": row["name"],
        "tag_count": row["tag_count"],
        "manifest_count": row["manifest_count"],
        "write_enabled": row["write_enabled"],
        "delete_enabled": row["delete_enabled"],
        "read_enabled": row["read_enabled"],
        "list_enabled": row["list_enabled"],
        "scope": f"{registry_scope}/repositories/{row['name']}",
        "created": row["created"],
        "updated": row["updated"],
    }


class RepositoryListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REPOSITORY_NAME_MAX_LENGTH,
        help_text="Only repositories whose name contains this text.",
    )
    namespace = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REPOSITORY_NAME_MAX_LENGTH,
        validators=[validate_repository_name],
        help_text="Only repositories under this namespace (name prefix, e.g. team-a).",
    )


class TagListQuerySerializer(serializers.Serializer):
    orderby = serializers.ChoiceField(
        choices=list(TAG_ORDERINGS),
        required=False,
        default=DEFAULT_TAG_ORDER,
        help_text="time_desc: most recently updated first, ties by name (default); "
        "time_asc: that order reversed; name.",
    )


class TagSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    digest = serializers.CharField(source="manifest.digest", read_only=True)
    media_type = serializers.CharField(source="manifest.media_type", read_only=True)
    size = serializers.IntegerField(source="manifest.size", read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)
    write_enabled = serializers.BooleanField(read_only=True)
    delete_enabled = serializers.BooleanField(read_only=True)
    read_enabled = serializers.BooleanField(read_only=True)
    list_enabled = serializers.BooleanField(read_only=True)


def tag_row_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """``TagSerializer``'s output for a ``selectors.tag_rows`` row."""
    return {
        "name": row["name"],
        "digest": row["manifest__digest"],
        "media_type": row["manifest__media_type"],
        "size": row["manifest__size"],
        "created": row["created"],
        "updated": row["updated"],
        "write_enabled": row["write_enabled"],
        "delete_enabled": row["delete_enabled"],
        "read_enabled": row["read_enabled"],
        "list_enabled": row["list_enabled"],
    }


# Manifests -------------------------------------------------------------------------------


class PlatformSerializer(serializers.Serializer):
    os = serializers.CharField()
    architecture = serializers.CharField()
    variant = serializers.CharField()


class LayerSerializer(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField()
    media_type = serializers.CharField()


class ManifestSerializer(serializers.Serializer):
    digest = serializers.CharField(read_only=True)
    media_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(
        read_only=True,
        help_text="Bytes of the manifest, its config and layers (an index: with its children).",
    )
    platforms = serializers.SerializerMethodField(
        help_text="An index: its children's platforms; an image: its own."
    )
    tags = serializers.SerializerMethodField(help_text="The names of the tags on it.")
    last_pulled = serializers.DateTimeField(source="last_pulled_at", read_only=True)
    created = serializers.DateTimeField(
        source="created_at",
        read_only=True,
        help_text="When the image was built (its config's created), else when first indexed.",
    )
    config_digest = serializers.CharField(read_only=True)
    layers = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, manifest: Manifest) -> list[str]:
        return [tag.name for tag in manifest.tags.all()]

    @extend_schema_field(PlatformSerializer(many=True))
    def get_platforms(self, manifest: Manifest) -> list[dict[str, str]]:
        sources = manifest.children.all() if manifest.is_index else [manifest]
        return [
            {"os": m.os, "architecture": m.architecture, "variant": m.variant}
            for m in sources
            if m.os or m.architecture
        ]

    @extend_schema_field(LayerSerializer(many=True))
    def get_layers(self, manifest: Manifest) -> list[dict[str, Any]]:
        return [
            {
                "digest": str(layer.get("digest", "")),
                "size": int(layer.get("size") or 0),
                "media_type": str(layer.get("media_type", "")),
            }
            for layer in manifest.layers or []
            if isinstance(layer, dict)
        ]


class RegistryEventSerializer(serializers.Serializer):
    """A notification the registry sent: who pushed, pulled or deleted what, when, from where."""

    id = serializers.CharField(source="event_id", read_only=True)
    action = serializers.CharField(read_only=True)
    repository = serializers.CharField(read_only=True)
    tag = serializers.CharField(read_only=True)
    digest = serializers.CharField(read_only=True)
    media_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, allow_null=True)
    actor = serializers.CharField(read_only=True)
    client_addr = serializers.CharField(read_only=True)
    request_method = serializers.CharField(read_only=True)
    user_agent = serializers.CharField(read_only=True)
    occurred = serializers.DateTimeField(source="occurred_at", read_only=True, allow_null=True)
    received = serializers.DateTimeField(source="received_at", read_only=True)
    status = serializers.CharField(read_only=True)
    problem = serializers.CharField(read_only=True)


class RegistryEventQuerySerializer(serializers.Serializer):
    repository = serializers.CharField(
        required=False,
        max_length=REPOSITORY_NAME_MAX_LENGTH,
        validators=[validate_repository_name],
        help_text="Only events about this repository.",
    )
    action = serializers.ChoiceField(
        choices=["push", "pull", "delete", "mount"],
        required=False,
        help_text="Only events of this action.",
    )
    status = serializers.ChoiceField(
        choices=["pending", "applied", "ignored", "malformed"],
        required=False,
        help_text="Only events in this state (malformed: kept as they came, not applied).",
    )


class AdminPasswordSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    value = serializers.CharField(
        read_only=True, required=False, help_text="Only in the answer that generated it."
    )
    hint = serializers.CharField(read_only=True, help_text="The first characters after pcl_adm_.")
    created = serializers.DateTimeField(source="created_at", read_only=True)
    last_used = serializers.DateTimeField(source="last_used_at", read_only=True, allow_null=True)


class AdminUserSerializer(StrictSerializer):
    """ACR's admin user: the registry's name and two passwords, while enabled."""

    enabled = serializers.BooleanField()
    username = serializers.CharField(read_only=True)
    passwords = AdminPasswordSerializer(many=True, read_only=True)


class AdminPasswordRegenerateSerializer(StrictSerializer):
    name = serializers.ChoiceField(choices=["password", "password2"])
