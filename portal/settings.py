"""Portcullis settings, read from the environment.

One module serves development, tests and production: ``DEBUG`` (off unless set) decides the
defaults, and every value a deployment needs to change has an environment variable (see
``docs/configuration.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG")
DATA_DIR = Path(os.environ.get("PORTAL_DATA_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (for development, set DEBUG=1)."
        )
    SECRET_KEY = "development-only-secret-key-do-not-use-in-production-0123456789"

PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", PORTAL_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.microsoft",
    "allauth.mfa",
    "allauth.usersessions",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "registry",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.sessions.SignInRedirectMiddleware",
    "portal.middleware.RegistryErrorMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
                "registry.access_requests.context_processors.navigation",
            ],
        },
    }
]

if not os.environ.get("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'portcullis.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves one developer; a longer busy timeout and WAL keep the web
    # process and the worker from tripping over each other's writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Accounts are created by administrators (and, later, by single sign-on); nobody signs up.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_FORMS = {"login": "accounts.sign_in.LoginForm"}
# Seconds a signed-in session lasts ("Keep me signed in" ticked; otherwise until the browser
# closes, and never longer than this). Sign out everywhere ends every session at once.
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 12 * 3600)
# Whether people other than superusers may sign in with a password (docs/sso.md); an
# administrator can also turn it off at run time (Django admin → Sign-in policy).
LOCAL_PASSWORD_SIGN_IN = envbool("LOCAL_PASSWORD_SIGN_IN", True)
# Multi-factor sign-in for local accounts: TOTP apps, with recovery codes as the spare key.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Portcullis")
# Sessions are recorded at sign-in (not on every request), so "sign out everywhere" finds them.
USERSESSIONS_TRACK_ACTIVITY = False

# Microsoft Entra ID single sign-on (docs/sso.md): configured when the tenant, client id and
# secret are set. ENTRA_LOGIN_URL and ENTRA_GRAPH_URL point at another cloud or a test server.
ENTRA_TENANT_ID = os.environ.get("ENTRA_TENANT_ID", "").strip()
ENTRA_CLIENT_ID = os.environ.get("ENTRA_CLIENT_ID", "").strip()
ENTRA_CLIENT_SECRET = os.environ.get("ENTRA_CLIENT_SECRET", "")
ENTRA_LOGIN_URL = os.environ.get("ENTRA_LOGIN_URL", "https://login.microsoftonline.com").rstrip("/")
ENTRA_GRAPH_URL = os.environ.get("ENTRA_GRAPH_URL", "https://graph.microsoft.com").rstrip("/")
# ``common`` or ``organizations`` as ENTRA_TENANT_ID lets any organization's people in; it is
# refused unless this is set too.
ENTRA_ALLOW_MULTI_TENANT = envbool("ENTRA_ALLOW_MULTI_TENANT")
# Seconds to wait for Entra ID (token endpoint, signing keys) and Microsoft Graph.
ENTRA_TIMEOUT = float(os.environ.get("ENTRA_TIMEOUT", "10"))


def microsoft_provider(
    *, tenant: str, client_id: str, secret: str, login_url: str, graph_url: str
) -> dict[str, object]:
    """django-allauth's ``microsoft`` provider for one Entra ID app registration.

    The app lives in settings (no ``SocialApp`` row); Portcullis's provider class adds the
    tenant checks and the group refresh to allauth's (``accounts.entra``).
    """
    apps = []
    if tenant and client_id and secret:
        apps.append(
            {
                "client_id": client_id,
                "secret": secret,
                "settings": {"tenant": tenant, "login_url": login_url, "graph_url": graph_url},
            }
        )
    return {
        "provider_class": "accounts.entra.provider.EntraProvider",
        # openid: an ID token to check the tenant with; GroupMember.Read.All: the user's groups.
        "SCOPE": ["openid", "profile", "email", "User.Read", "GroupMember.Read.All"],
        "APPS": apps,
    }


SOCIALACCOUNT_PROVIDERS = {
    "microsoft": microsoft_provider(
        tenant=ENTRA_TENANT_ID,
        client_id=ENTRA_CLIENT_ID,
        secret=ENTRA_CLIENT_SECRET,
        login_url=ENTRA_LOGIN_URL,
        graph_url=ENTRA_GRAPH_URL,
    )
}
# An Entra sign-in finds or creates its user itself (accounts.entra.directory): allauth never
# shows a sign-up form, and never matches accounts by email address.
SOCIALACCOUNT_ADAPTER = "accounts.entra.adapter.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# In development static files come from the finders and are re-read on change, so the
# collectstatic folder need not exist.
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
# EMAIL_URL (submission://user:password@host:587, smtp://…:465/?ssl=True, console://) sets
# the backend and the server in one value; the tests always use Django's in-memory outbox.
EMAIL_TIMEOUT = 10
if os.environ.get("EMAIL_URL"):
    globals().update(
        {k: v for k, v in dj_email_url.parse(os.environ["EMAIL_URL"]).items() if v is not None}
    )
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "portcullis@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalAccessTokenAuthentication",
        "accounts.authentication.ServicePrincipalAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["registry.api.permissions.IsSignedIn"],
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "registry.api.errors.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # One fixed shape for every time the API writes (UTC, microseconds, Z); the repository
    # and tag lists have the database write it in the same shape (registry.models.IsoTimestamp).
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portcullis API",
    "DESCRIPTION": "Registries, namespaces, repositories, tags and manifests.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the app (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WebhookStatusEnum": ["enabled", "disabled"],
        "WebhookHealthEnum": "registry.models.webhooks.Webhook.Health",
        "DeliveryStatusEnum": "registry.models.webhooks.WebhookDelivery.Status",
        "AccessRequestStatusEnum": "registry.models.requests.AccessRequest.Status",
        "AccessRequestPrincipalTypeEnum": "registry.models.requests.AccessRequest.PrincipalType",
        "PrincipalTypeEnum": "registry.models.access.RoleAssignment.PrincipalType",
    },
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

# How long the portal waits for a registry before it answers 502/503.
REGISTRY_TIMEOUT = float(os.environ.get("REGISTRY_TIMEOUT", "10"))
TOKEN_SIGNING_KEY_FILE = os.environ.get(
    "TOKEN_SIGNING_KEY_FILE", str(DATA_DIR / "token-signing-key.pem")
)
# The ``iss`` of registry tokens; a registry's config names the same issuer.
TOKEN_ISSUER = os.environ.get("TOKEN_ISSUER", "portcullis")
# Seconds each web process remembers a token decision (who, where, which scopes: which actions)
# and a registry by service name; 0 turns it off. Bounds how late a revocation shows in tokens.
TOKEN_DECISION_CACHE_SECONDS = envint("TOKEN_DECISION_CACHE_SECONDS", 5)
# Seconds a rendered page of the API's repository or tag list is kept for the same question
# while its registry's index is unchanged (0: never kept). Never stale: see registry.api.list_cache.
INDEX_LIST_CACHE_SECONDS = envint("INDEX_LIST_CACHE_SECONDS", 300)
# On PostgreSQL, each web process listens for the database's announcements of changes to
# credentials, role assignments and registry indexes, and answers those lookups from memory while
# it hears them (and its own heartbeat, every CHANGE_FEED_HEARTBEAT_SECONDS). See accounts.changes.
CHANGE_FEED = envbool("CHANGE_FEED", True)
CHANGE_FEED_HEARTBEAT_SECONDS = envint("CHANGE_FEED_HEARTBEAT_SECONDS", 1)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Per process on purpose: a few seconds of memory, never shared, never a secret in a key.
    "token-decisions": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "token-decisions",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
    # Rendered pages of the API's repository and tag lists, keyed by their registry's index
    # stamp (registry.api.list_cache): any cache backend is safe here, since a changed index
    # changes the key. Per process by default; at most ≈150 KB an entry (a page of 500 tags).
    "index-lists": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "index-lists",
        "TIMEOUT": INDEX_LIST_CACHE_SECONDS,
        "OPTIONS": {"MAX_ENTRIES": 256},
    },
}
# The largest notification envelope a registry may post (distribution sends small batches).
REGISTRY_EVENTS_MAX_BYTES = int(os.environ.get("REGISTRY_EVENTS_MAX_BYTES", str(1024 * 1024)))
# Certificates published in registries' token bundles beside the signing key's own: the next
# key before it signs, the previous one until its last tokens expire (docs/access-control.md).
TOKEN_PUBLISHED_CERTIFICATES = envlist("TOKEN_PUBLISHED_CERTIFICATES")
# Seconds a refresh token lasts (never longer than the credential that minted it); ACR's 3 hours.
TOKEN_REFRESH_LIFETIME = envint("TOKEN_REFRESH_LIFETIME", 3 * 3600)
# Failed sign-ins at /oauth2/token and /oauth2/exchange allowed per window (0: no limit).
TOKEN_LOGIN_FAILURE_WINDOW = envint("TOKEN_LOGIN_FAILURE_WINDOW", 300)
TOKEN_LOGIN_FAILURES_PER_ADDRESS = envint("TOKEN_LOGIN_FAILURES_PER_ADDRESS", 30)
TOKEN_LOGIN_FAILURES_PER_ACCOUNT = envint("TOKEN_LOGIN_FAILURES_PER_ACCOUNT", 10)
# Reverse proxies in front of the portal that append to X-Forwarded-For (0: none); the client
# address of rate limits and audit rows is read through them.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

# Webhooks (docs/webhooks.md). Destinations in these networks are allowed even though they are
# loopback, private or link-local (comma-separated CIDRs, e.g. 10.20.0.0/16).
WEBHOOK_ALLOWED_NETWORKS = envlist("WEBHOOK_ALLOWED_NETWORKS")
# Seconds a receiver has to answer; the lease on an attempt covers it with room to spare.
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
WEBHOOK_LEASE_SECONDS = float(os.environ.get("WEBHOOK_LEASE_SECONDS", "120"))
# Retries: exponential from the base delay, capped, with jitter, for as long as the window.
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "10"))
WEBHOOK_RETRY_MAX_DELAY_SECONDS = float(os.environ.get("WEBHOOK_RETRY_MAX_DELAY_SECONDS", "10800"))
WEBHOOK_RETRY_WINDOW_SECONDS = float(os.environ.get("WEBHOOK_RETRY_WINDOW_SECONDS", "86400"))
# Failed attempts in a row after which a webhook is shown as unhealthy.
WEBHOOK_UNHEALTHY_AFTER = envint("WEBHOOK_UNHEALTHY_AFTER", 3)
# Keys that encrypt webhook secrets and custom header values at rest (registry.encryption);
# the first encrypts, all decrypt. Unset: derived from SECRET_KEY (development).
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS")
# Access requests (docs/access-requests.md): the days a grant lasts unless asked otherwise, the
# longest one may ask for, how long a request waits untouched before it expires, and how long
# before a grant ends its holder is reminded.
ACCESS_REQUEST_DEFAULT_DAYS = envint("ACCESS_REQUEST_DEFAULT_DAYS", 30)
ACCESS_REQUEST_MAX_DAYS = envint("ACCESS_REQUEST_MAX_DAYS", 365)
ACCESS_REQUEST_PENDING_DAYS = envint("ACCESS_REQUEST_PENDING_DAYS", 14)
ACCESS_REQUEST_REMINDER_DAYS = envint("ACCESS_REQUEST_REMINDER_DAYS", 7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    # Health probes come over plain HTTP from the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
