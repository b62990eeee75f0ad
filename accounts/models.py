"""Identity: users, groups, service principals and the machine secrets they sign in with."""

from __future__ import annotations

import copy
import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import connections, models, router
from django.utils import timezone

from accounts import secrets
from accounts.changes import CREDENTIALS, Memo


class User(AbstractUser):
    """A person who signs in to the portal: a local account (a password, optionally TOTP) or
    an Entra ID account (single sign-on; ``entra_object_id`` set, no usable password)."""

    # The Entra ID object id (``oid``) of the person, set at their first single sign-on, or
    # beforehand by an administrator who assigns roles to someone who has not signed in yet.
    entra_object_id = models.CharField(
        "Entra object id",
        max_length=64,
        blank=True,
        help_text="The Entra ID object id (oid) of this person; blank for a local account.",
    )
    entra_tenant_id = models.CharField("Entra tenant id", max_length=64, blank=True)
    # When the Entra group memberships were last read (sign-in or token exchange).
    groups_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["entra_object_id"],
                condition=~models.Q(entra_object_id=""),
                name="user_unique_entra_object_id",
            )
        ]

    def __str__(self) -> str:
        return self.username


class PersonalAccessTokenQuerySet(models.QuerySet):
    def active(self) -> PersonalAccessTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class MachineSecret(models.Model):
    """A secret a machine presents (DESIGN.md rule 6): generated, shown once, kept as a digest."""

    PREFIX = ""
    DEFAULT_LIFETIME = timedelta(days=90)
    # The longest lifetime anyone may ask for: a secret that never expires is one that leaks.
    MAX_LIFETIME = timedelta(days=365)

    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters after the prefix, so people can tell their secrets apart in a list.
    hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}…"

    @property
    def has_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.has_expired


# Token rows with their users by digest, while no token or user changes (accounts.changes;
# the migration 0006_credential_changes announces them).
TOKEN_ROWS = Memo(CREDENTIALS)
# Service principal secrets with their principals by digest, likewise.
SECRET_ROWS = Memo(CREDENTIALS)


class PersonalAccessToken(MachineSecret):
    """A token a user presents to the REST API (``Authorization: Bearer``) and to ``docker login``.

    Only the SHA-256 digest is stored; the token itself is shown once, when it is created.
    """

    PREFIX = "pcl_pat_"
    DEFAULT_LIFETIME = timedelta(days=90)
    MAX_LIFETIME = timedelta(days=365)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)

    objects = PersonalAccessTokenQuerySet.as_manager()

    class Meta(MachineSecret.Meta):
        abstract = False

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def find(cls, token: str) -> PersonalAccessToken | None:
        """The active token row for a presented token, or None."""
        if not token.startswith(cls.PREFIX):
            return None
        found = cls._with_user(secrets.digest(token))
        if found is None or not found.is_active or not secrets.matches(token, found.digest):
            return None
        return found

    @classmethod
    def _with_user(cls, digest: str) -> PersonalAccessToken | None:
        """The token row with this digest and its user, in one statement.

        Every API call made with a token runs this first. Written out rather than built by the
        ORM each time: compiling ``select_related("user").filter(digest=…)`` cost twice what
        the database takes to answer it. Values pass through the same converters a queryset
        applies, and both rows become model instances through ``Model.from_db``.
        """
        database = router.db_for_read(cls)
        connection = connections[database]
        lookup = _token_lookup(connection.vendor)

        def fetch() -> tuple[Any, ...] | None:
            with connection.cursor() as cursor:
                cursor.execute(lookup.sql, [digest])
                return cursor.fetchone()

        # The raw row is what is remembered (a tuple: nothing a request can change).
        row = TOKEN_ROWS.get(digest, fetch)
        if row is None:
            return None
        values = [
            _converted(value, converters, column, connection)
            for value, (converters, column) in zip(row, lookup.columns, strict=True)
        ]
        split = len(lookup.token_fields)
        found = cls.from_db(database, lookup.token_fields, values[:split])
        found.user = User.from_db(database, lookup.user_fields, values[split:])
        return found


class Group(models.Model):
    """A set of users that role assignments can name: local, or an Entra ID group (``object_id``).

    Not Django's ``auth.Group`` (model permissions): the portal's access comes from role
    assignments only.
    """

    name = models.CharField(max_length=256)
    object_id = models.CharField(
        max_length=64, blank=True, help_text="The Entra ID object id; blank for a local group."
    )
    description = models.TextField(blank=True)
    members = models.ManyToManyField(
        User, through="GroupMembership", related_name="portal_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_id"],
                condition=~models.Q(object_id=""),
                name="group_unique_object_id",
            ),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(object_id=""), name="group_unique_local_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    class Source(models.TextChoices):
        LOCAL = "local", "Added in the portal"
        ENTRA = "entra", "From Entra ID"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="group_memberships")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.LOCAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="group_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class ServicePrincipal(models.Model):
    """A headless identity for CI systems and clusters: ``docker login`` with client id + secret.

    Signed in to the REST API with ``Authorization: Basic`` (client id and secret), it becomes
    ``request.user``: the attributes below are what DRF, the permissions engine and the audit
    log ask of whoever made a request.
    """

    name = models.CharField(max_length=128, unique=True)
    description = models.TextField(blank=True)
    client_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    enabled = models.BooleanField(default=True)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="service_principals"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Asked of request.user by DRF, Django and the permissions engine.
    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False

    @property
    def is_active(self) -> bool:
        return self.enabled

    def get_username(self) -> str:
        """How the audit log and error messages name it: ``sp:ci-deployer``."""
        return f"sp:{self.name}"


class ServicePrincipalSecret(MachineSecret):
    """One of a service principal's secrets (several may be valid at once, for rotation)."""

    PREFIX = "pcl_sps_"
    DEFAULT_LIFETIME = timedelta(days=365)
    # Two years, as Entra ID recommends for client secrets: rotate at least that often.
    MAX_LIFETIME = timedelta(days=730)

    service_principal = models.ForeignKey(
        ServicePrincipal, on_delete=models.CASCADE, related_name="secrets"
    )
    description = models.CharField(max_length=100, blank=True)

    class Meta(MachineSecret.Meta):
        abstract = False

    @classmethod
    def find(cls, client_id: str, secret: str) -> ServicePrincipalSecret | None:
        """The active secret row for a client id and secret of an enabled principal, or None."""
        if not secret.startswith(cls.PREFIX):
            return None
        digest = secrets.digest(secret)

        def fetch() -> ServicePrincipalSecret | None:
            rows = cls.objects.select_related("service_principal").filter(digest=digest)
            return next(iter(rows[:1]), None)

        kept = SECRET_ROWS.get(digest, fetch)
        if kept is None:
            return None
        # A copy for this caller: the remembered rows are shared by every request.
        found = copy.copy(kept)
        found.service_principal = copy.copy(kept.service_principal)
        if (
            not found.is_active
            or not found.service_principal.enabled
            or str(found.service_principal.client_id) != client_id.strip().lower()
            or not secrets.matches(secret, found.digest)
        ):
            return None
        return found


class RefreshTokenQuerySet(models.QuerySet):
    def active(self) -> RefreshTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class RefreshToken(MachineSecret):
    """A registry refresh token (``docker login`` keeps it as its identity token).

    Minted by the token server for a user or a service principal from the credential they
    signed in with (the *parent*: a personal access token or a service principal secret), for
    one registry ``service``. It never outlives its parent: it expires no later than the parent
    does, and it stops working as soon as the parent is revoked or expires, the service
    principal is disabled or the user deactivated (``find`` checks all of these on every use).
    Its lifetime is ``TOKEN_REFRESH_LIFETIME`` (three hours by default, as ACR's).
    """

    PREFIX = "pcl_rt_"
    DEFAULT_LIFETIME = timedelta(hours=3)

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="refresh_tokens"
    )
    service_principal = models.ForeignKey(
        ServicePrincipal,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="refresh_tokens",
    )
    # The credential that minted it; a later sign-in method (Entra ID) may have neither.
    personal_access_token = models.ForeignKey(
        PersonalAccessToken,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="refresh_tokens",
    )
    service_principal_secret = models.ForeignKey(
        ServicePrincipalSecret,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="refresh_tokens",
    )
    # The registry's token service name; the token is refused at any other registry.
    service = models.CharField(max_length=255)

    objects = RefreshTokenQuerySet.as_manager()

    class Meta(MachineSecret.Meta):
        abstract = False
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, service_principal__isnull=True)
                    | models.Q(user__isnull=True, service_principal__isnull=False)
                ),
                name="refresh_token_one_principal",
            )
        ]

    @property
    def principal(self) -> User | ServicePrincipal:
        return self.user or self.service_principal  # type: ignore[return-value]

    @property
    def parent(self) -> MachineSecret | None:
        return self.personal_access_token or self.service_principal_secret

    @classmethod
    def find(cls, token: str) -> RefreshToken | None:
        """The usable refresh token for a presented one: itself, its parent and its principal
        still valid. One query (the parent and principal come along)."""
        if not token.startswith(cls.PREFIX):
            return None
        rows = cls.objects.select_related(
            "user",
            "service_principal",
            "personal_access_token",
            "service_principal_secret",
        ).filter(digest=secrets.digest(token))
        found = next(iter(rows[:1]), None)
        if found is None or not found.is_active or not secrets.matches(token, found.digest):
            return None
        parent = found.parent
        if parent is not None and not parent.is_active:
            return None
        if found.user is not None and not found.user.is_active:
            return None
        if found.service_principal is not None and not found.service_principal.enabled:
            return None
        return found


class LoginFailure(models.Model):
    """One failed sign-in at the token server, counted under a key (``address:…``, ``account:…``).

    Rate limits count these rows in a sliding window. A row per failure (not a counter) makes
    concurrent failures from several web processes add up without lost updates; rows older
    than the window are deleted as new ones arrive, so the table stays small.
    """

    key = models.CharField(max_length=300)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["key", "at"], name="login_failure_by_key"),
            models.Index(fields=["at"], name="login_failure_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.key} at {self.at:%Y-%m-%d %H:%M:%S}"


class SignInPolicy(models.Model):
    """Portal-wide sign-in switches that an administrator changes at run time (one row).

    The ``LOCAL_PASSWORD_SIGN_IN`` setting can turn password sign-in off for a whole
    deployment; this row turns it off from the Django admin without a restart. Superusers can
    always sign in with their password (and TOTP), so a broken single sign-on never locks
    everyone out.
    """

    password_sign_in_enabled = models.BooleanField(
        "password sign-in for everyone",
        default=True,
        help_text=(
            "When off, only superusers (break-glass administrators) can sign in with a "
            "password; everyone else signs in with Microsoft."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sign-in policy"
        verbose_name_plural = "sign-in policy"

    def __str__(self) -> str:
        state = "on" if self.password_sign_in_enabled else "superusers only"
        return f"Password sign-in: {state}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1  # one row only
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> SignInPolicy:
        found = cls.objects.filter(pk=1).first()
        return found if found is not None else cls(pk=1)


@dataclass(frozen=True)
class _TokenLookup:
    sql: str
    token_fields: list[str]
    user_fields: list[str]
    # Per column: the converters a queryset would apply to it, and the column expression.
    columns: list[tuple[list[Any], Any]]


@functools.cache
def _token_lookup(vendor: str) -> _TokenLookup:
    """``PersonalAccessToken._with_user``'s statement for one database backend."""
    connection = connections[router.db_for_read(PersonalAccessToken)]
    quote = connection.ops.quote_name
    parts = [("t", f) for f in PersonalAccessToken._meta.concrete_fields]
    parts += [("u", f) for f in User._meta.concrete_fields]
    columns = []
    for alias, field in parts:
        column = field.get_col(alias)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        columns.append((converters, column))
    user_key = quote(PersonalAccessToken._meta.get_field("user").column)
    user_pk = quote(User._meta.pk.column)
    selected = ", ".join(f"{alias}.{quote(field.column)}" for alias, field in parts)
    # Only quoted names from the models' metadata go into the text; the digest is a parameter.
    sql = (
        f"SELECT {selected} "  # noqa: S608
        f"FROM {quote(PersonalAccessToken._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON u.{user_pk} = t.{user_key} "
        f"WHERE t.{quote('digest')} = %s"
    )
    return _TokenLookup(
        sql=sql,
        token_fields=[f.attname for f in PersonalAccessToken._meta.concrete_fields],
        user_fields=[f.attname for f in User._meta.concrete_fields],
        columns=columns,
    )


def _converted(value: Any, converters: list[Any], column: Any, connection: Any) -> Any:
    for converter in converters:
        value = converter(value, column, connection)
    return value
