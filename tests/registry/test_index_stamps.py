"""Index stamps: the database renews a registry's stamp whenever a row its index lists changes,
whatever code writes it (``registry.models.IndexStamp``, migration ``0009_index_stamps``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, models, transaction
from django.utils import timezone

from registry import selectors
from registry.models import IndexStamp, Manifest, Registry, Repository, Tag
from tests.factories import RegistryFactory, RepositoryFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(db):
    return RepositoryFactory(registry=RegistryFactory(name="prod1"), name="team-a/app")


@pytest.fixture
def other(db):
    """A second registry with content of its own, whose stamp must not move."""
    return TagFactory(manifest__repository__registry=RegistryFactory(name="other1")).repository


@pytest.fixture
def v1(app):
    return TagFactory(manifest__repository=app, name="v1")


def _stamp(registry: Registry) -> int:
    return IndexStamp.objects.get(registry_id=registry.pk).stamp


def _new_manifest(repository: Repository, n: int = 1) -> Manifest:
    return Manifest.objects.create(
        repository=repository,
        digest=f"sha256:{n:064x}",
        media_type=Manifest.MediaType.OCI_MANIFEST,
        size=10,
        created_at=timezone.now(),
    )


WRITES: dict[str, Callable[[Repository, Tag], object]] = {
    "repository created": lambda app, v1: Repository.objects.create(
        registry=app.registry, name="team-a/new"
    ),
    "repository locked by save": lambda app, v1: (
        setattr(app, "write_enabled", False),
        app.save(),
    ),
    "repository locked by update": lambda app, v1: Repository.objects.filter(pk=app.pk).update(
        delete_enabled=False
    ),
    "repository deleted": lambda app, v1: app.delete(),
    "repositories deleted in bulk": lambda app, v1: Repository.objects.filter(
        registry=app.registry
    ).delete(),
    "manifest created": lambda app, v1: _new_manifest(app),
    "manifests created in bulk": lambda app, v1: Manifest.objects.bulk_create(
        [
            Manifest(
                repository=app,
                digest=f"sha256:{n:064x}",
                media_type=Manifest.MediaType.OCI_MANIFEST,
                size=1,
                created_at=timezone.now(),
            )
            for n in range(50)
        ]
    ),
    "manifest changed": lambda app, v1: Manifest.objects.filter(pk=v1.manifest_id).update(size=7),
    "manifest deleted": lambda app, v1: Manifest.objects.filter(pk=v1.manifest_id).delete(),
    "manifest pulled and resized": lambda app, v1: Manifest.objects.filter(
        pk=v1.manifest_id
    ).update(last_pulled_at=timezone.now(), size=8),
    "tag pulled and locked": lambda app, v1: Tag.objects.filter(pk=v1.pk).update(
        last_pulled_at=timezone.now(), delete_enabled=False
    ),
    "tag created": lambda app, v1: Tag.objects.create(
        repository=app, manifest=v1.manifest, name="v2", updated_at=timezone.now()
    ),
    "tags created in bulk": lambda app, v1: Tag.objects.bulk_create(
        [
            Tag(repository=app, manifest=v1.manifest, name=f"b{n}", updated_at=timezone.now())
            for n in range(50)
        ]
    ),
    "tag moved to another manifest": lambda app, v1: Tag.objects.filter(pk=v1.pk).update(
        manifest=_new_manifest(app, 99)
    ),
    "tag locked": lambda app, v1: Tag.objects.filter(pk=v1.pk).update(write_enabled=False),
    "tag deleted": lambda app, v1: v1.delete(),
    "registry renamed": lambda app, v1: Registry.objects.filter(pk=app.registry_id).update(
        name="renamed1"
    ),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_every_write_to_the_index_renews_its_registrys_stamp(app, v1, other, write):
    before, others_before = _stamp(app.registry), _stamp(other.registry)
    WRITES[write](app, v1)
    assert _stamp(app.registry) != before
    assert _stamp(other.registry) == others_before


def test_recording_pulls_leaves_the_stamp(app, v1):
    """Pull events write ``last_pulled_at`` all day; no list shows it (0011)."""
    before = _stamp(app.registry)
    now = timezone.now()
    Manifest.objects.filter(pk=v1.manifest_id).update(last_pulled_at=now)
    Tag.objects.filter(pk=v1.pk).update(last_pulled_at=now)
    assert _stamp(app.registry) == before


def _changed_value(instance: Manifest | Tag, field: models.Field, app: Repository) -> object:
    """Another value for ``field`` of ``instance``."""
    value = getattr(instance, field.attname)
    if field.name == "repository":
        return Repository.objects.create(registry=app.registry, name="team-a/moved").pk
    if field.name == "manifest":
        return _new_manifest(app, 77).pk
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.IntegerField):
        return value + 1
    if isinstance(field, models.CharField):
        return f"{value}x"
    if isinstance(field, models.DateTimeField):
        return value + timedelta(seconds=1)
    if isinstance(field, models.JSONField):
        return [{"changed": True}]
    raise AssertionError(f"say how to change {field!r} here: it must renew the stamp")


COLUMNS = [
    (model, field.name)
    for model in (Manifest, Tag)
    for field in model._meta.concrete_fields
    if not field.primary_key and field.name != "last_pulled_at"
]


@pytest.mark.parametrize(("model", "name"), COLUMNS, ids=[f"{m.__name__}.{n}" for m, n in COLUMNS])
def test_changing_any_column_but_last_pulled_renews_the_stamp(app, v1, model, name):
    """Every column a list may show renews the stamp, columns added later too (on SQLite the
    update triggers name the columns; a new one must join them)."""
    instance = v1 if model is Tag else v1.manifest
    field = model._meta.get_field(name)
    value = _changed_value(instance, field, app)
    before = _stamp(app.registry)
    model.objects.filter(pk=instance.pk).update(**{field.attname: value})
    assert _stamp(app.registry) != before


def test_a_new_registry_starts_with_a_stamp(db):
    registry = Registry.objects.create(name="fresh1", login_server="http://127.0.0.1:9")
    assert selectors.index_stamp("FRESH1") == (registry.pk, _stamp(registry))


def test_registry_fields_the_lists_do_not_show_leave_the_stamp(app, v1):
    before = _stamp(app.registry)
    Registry.objects.filter(pk=app.registry_id).update(description="Production", tier="Premium")
    assert _stamp(app.registry) == before


def test_deleting_a_registry_with_its_content_succeeds_and_renews_the_stamp(app, v1):
    registry_id, before = app.registry_id, _stamp(app.registry)
    app.registry.delete()
    assert not Registry.objects.filter(pk=registry_id).exists()
    assert IndexStamp.objects.get(registry_id=registry_id).stamp != before


def test_stamps_are_renewed_inside_the_writing_transaction(app, v1):
    # A rolled-back write leaves the stamp as it was: it changes with the data or not at all.
    before = _stamp(app.registry)
    with pytest.raises(RuntimeError), transaction.atomic():
        Tag.objects.filter(pk=v1.pk).delete()
        assert _stamp(app.registry) != before
        raise RuntimeError("roll back")
    assert _stamp(app.registry) == before
    assert Tag.objects.filter(pk=v1.pk).exists()


def test_unknown_registries_have_no_stamp(db):
    assert selectors.index_stamp("nosuch1") is None


def _trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


def test_every_index_table_has_its_triggers(db):
    # A migration that rebuilds one of these tables on SQLite (Django copies the table to
    # alter it) drops its triggers: this fails until the migration creates them again.
    names = _trigger_names()
    for table in ("registry_repository", "registry_manifest", "registry_tag"):
        for operation in ("insert", "update", "delete"):
            assert f"{table}_index_{operation}" in names
    registry_triggers = {n for n in names if n.startswith("registry_registry_index")}
    assert registry_triggers
