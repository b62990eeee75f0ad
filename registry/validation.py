"""Name grammars shared by models, forms, the API and the token server.

Repository and tag grammars are the OCI distribution spec's; registry names follow ACR's rule
(5–50 alphanumerics).
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator

REGISTRY_NAME_RE = re.compile(r"^[A-Za-z0-9]{5,50}$")
# The OCI distribution spec's grammar: components joined by ".", "_", "__" or runs of "-".
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
SHA256_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
# The distribution spec caps a repository name (with the registry host) at 255 characters.
REPOSITORY_NAME_MAX_LENGTH = 255

validate_registry_name = RegexValidator(
    REGISTRY_NAME_RE,
    "Registry names are 5 to 50 letters and digits (A-Z, a-z, 0-9), nothing else.",
    code="invalid_registry_name",
)
validate_repository_name = RegexValidator(
    REPOSITORY_NAME_RE,
    "Repository names are lowercase path components of letters and digits, separated by '/', "
    "each optionally joined by single '.', '_' or '-' (for example team-a/backend).",
    code="invalid_repository_name",
)
validate_tag = RegexValidator(
    TAG_RE,
    "Tags are 1 to 128 characters: letters, digits, '_', '.' and '-', "
    "not starting with '.' or '-'.",
    code="invalid_tag",
)
validate_digest = RegexValidator(
    DIGEST_RE, "Digests look like sha256:<64 hex characters>.", code="invalid_digest"
)


def is_repository_name(value: str) -> bool:
    return len(value) <= REPOSITORY_NAME_MAX_LENGTH and bool(REPOSITORY_NAME_RE.match(value))


def is_tag(value: str) -> bool:
    return bool(TAG_RE.match(value))


def is_digest(value: str) -> bool:
    return len(value) <= 200 and bool(DIGEST_RE.match(value))
