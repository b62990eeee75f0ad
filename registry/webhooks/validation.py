"""What a webhook may be made of: ACR's fields and their grammars.

Every check raises Django's ``ValidationError`` with a message that says what to write instead;
the model, the forms, the API serializers and the services all use these, so the same input is
refused the same way everywhere (400 in the API).

Scope (ACR): ``repository:tag`` where either part may hold ``*`` (any run of characters,
``/`` included) and ``?`` (one character); empty means every event; a repository alone means
``repository:latest``. An event without a tag (a push or a delete by digest) matches a scope
whose tag part matches the empty string, which in practice means ``*``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from registry.validation import REGISTRY_NAME_RE, REPOSITORY_NAME_RE, TAG_RE

# Actions a webhook may subscribe to. The first three happen in a distribution registry; ACR's
# others are accepted so that configurations copied from ACR load, and never fire here.
EVENT_ACTIONS = ("push", "delete", "pull")
COMPATIBILITY_ACTIONS = ("quarantine", "chart_push", "chart_delete")
ACTIONS = EVENT_ACTIONS + COMPATIBILITY_ACTIONS

NAME_MESSAGE = "Webhook names are 5 to 50 letters and digits (A-Z, a-z, 0-9), nothing else."
SCOPE_MAX_LENGTH = 400
SERVICE_URI_MAX_LENGTH = 2048
MAX_CUSTOM_HEADERS = 20
HEADER_VALUE_MAX_LENGTH = 4096
# RFC 9110 token characters.
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers the portal sets itself on every delivery; a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
    }
)


def validate_name(value: str) -> None:
    if not isinstance(value, str) or not REGISTRY_NAME_RE.fullmatch(value):
        raise ValidationError(NAME_MESSAGE, code="invalid_webhook_name")


def clean_actions(value: object) -> list[str]:
    """The actions as a list without repeats, in the canonical order; refused when empty or
    when one is unknown."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError('Actions are a list, e.g. ["push", "delete"].', code="invalid")
    given = list(value)
    unknown = [str(action) for action in given if action not in ACTIONS]
    if unknown:
        raise ValidationError(
            f"Unknown action(s) {', '.join(repr(a) for a in unknown)}; use "
            f"{', '.join(EVENT_ACTIONS)} (or, for ACR compatibility, "
            f"{', '.join(COMPATIBILITY_ACTIONS)}).",
            code="invalid_action",
        )
    if not given:
        raise ValidationError(
            f"Choose at least one action: {', '.join(EVENT_ACTIONS)}.", code="required"
        )
    return [action for action in ACTIONS if action in given]


def _as_name(glob: str, letter: str) -> str:
    """A glob with each wildcard replaced by a letter: valid exactly when the glob is."""
    return glob.replace("*", letter).replace("?", letter)


def split_scope(scope: str) -> tuple[str, str]:
    """(repository glob, tag glob) of a scope that ``validate_scope`` accepted; ``("*", "*")``
    for the empty scope, ``(repository, "latest")`` for a repository alone."""
    scope = scope.strip()
    if not scope:
        return "*", "*"
    repository, _, tag = scope.partition(":")
    return repository, tag or "latest"


def validate_scope(value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("The scope is a string like 'team-a/app:*'.", code="invalid")
    scope = value.strip()
    if not scope:
        return
    hint = (
        "Write the scope as repository:tag, where either may hold * (anything) or ? (one "
        "character), e.g. team-a/*:v1.* or app:*; a repository alone means repository:latest."
    )
    if len(scope) > SCOPE_MAX_LENGTH:
        raise ValidationError(f"The scope is longer than {SCOPE_MAX_LENGTH} characters.")
    if scope.count(":") > 1:
        raise ValidationError(f"{scope!r} has more than one ':'. {hint}", code="invalid_scope")
    repository, colon, tag = scope.partition(":")
    if not repository or (colon and not tag):
        raise ValidationError(f"{scope!r} leaves a part empty. {hint}", code="invalid_scope")
    # "team-a/*" is a valid name with the wildcard as a letter or as a digit ("*" alone, "x*").
    if not REPOSITORY_NAME_RE.fullmatch(_as_name(repository, "a")):
        raise ValidationError(
            f"{repository!r} is not a repository name or glob (lowercase letters, digits, "
            f"'.', '_', '-', '/' and the wildcards * and ?). {hint}",
            code="invalid_scope",
        )
    if colon and not TAG_RE.fullmatch(_as_name(tag, "a")):
        raise ValidationError(
            f"{tag!r} is not a tag or tag glob (letters, digits, '_', '.', '-' and the "
            f"wildcards * and ?, not starting with '.' or '-'). {hint}",
            code="invalid_scope",
        )


@functools.lru_cache(maxsize=1024)
def _glob_regex(glob: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL)


def scope_matches(scope: str, repository: str, tag: str) -> bool:
    """Whether an event about ``repository`` (and ``tag``, "" for none) is in ``scope``."""
    repository_glob, tag_glob = split_scope(scope)
    return bool(
        _glob_regex(repository_glob).fullmatch(repository) and _glob_regex(tag_glob).fullmatch(tag)
    )


def validate_service_uri(value: str) -> None:
    """The shape of a service URI; where it points is ``network.check_destination``'s job."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Give the receiver's URL, e.g. https://hooks.example.com/acr.")
    if len(value) > SERVICE_URI_MAX_LENGTH:
        raise ValidationError(f"The URL is longer than {SERVICE_URI_MAX_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise ValidationError("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a URL: {exc}.") from None
    if parts.scheme not in {"http", "https"}:
        raise ValidationError("The URL must start with https:// (or http://).", code="scheme")
    if not parts.hostname:
        raise ValidationError("The URL has no host.", code="host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put credentials in a custom header (e.g. Authorization), not in the URL: the URL "
            "is shown to everyone who may read the webhook, header values are not.",
            code="userinfo",
        )
    if parts.fragment:
        raise ValidationError("The URL has a #fragment, which is never sent; remove it.")
    if port == 0:
        raise ValidationError("The URL's port must be between 1 and 65535.")


def clean_custom_headers(
    value: object, *, existing: Iterable[str] = (), allow_keep: bool = False
) -> dict[str, str | None]:
    """Custom headers as ``{name: value}``. With ``allow_keep``, a value of ``None`` keeps the
    current value of a header in ``existing`` (the API and the form never show values back)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(
            'Custom headers are an object of names and values, e.g. {"Authorization": "…"}.'
        )
    if len(value) > MAX_CUSTOM_HEADERS:
        raise ValidationError(f"At most {MAX_CUSTOM_HEADERS} custom headers.")
    known = {name.lower() for name in existing}
    seen: set[str] = set()
    cleaned: dict[str, str | None] = {}
    errors: list[str] = []
    for name, header_value in value.items():
        if not isinstance(name, str) or not HEADER_NAME_RE.fullmatch(name):
            errors.append(f"{name!r} is not a header name (letters, digits and -_.!#$%&'*+^`|~).")
            continue
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            errors.append(f"{name} is set by the portal on every delivery; it cannot be replaced.")
            continue
        if lowered in seen:
            errors.append(f"{name} is given twice.")
            continue
        seen.add(lowered)
        if header_value is None and allow_keep and lowered in known:
            cleaned[name] = None
            continue
        if not isinstance(header_value, str) or not header_value.strip():
            errors.append(f"Give {name} a value.")
            continue
        if any(c in header_value for c in "\r\n\0"):
            errors.append(f"The value of {name} contains a line break or NUL.")
            continue
        if len(header_value) > HEADER_VALUE_MAX_LENGTH:
            errors.append(f"The value of {name} is longer than {HEADER_VALUE_MAX_LENGTH}.")
            continue
        cleaned[name] = header_value.strip()
    if errors:
        raise ValidationError(errors)
    return cleaned
