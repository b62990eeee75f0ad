"""The OCI and ACR name grammars."""

import pytest
from django.core.exceptions import ValidationError

from registry.validation import (
    is_digest,
    is_repository_name,
    is_tag,
    validate_registry_name,
)


@pytest.mark.parametrize(
    "name",
    ["app", "team-a/app", "team-a/backend/api", "a.b_c-d", "a__b", "a--b", "x/y/z/0", "a" * 255],
)
def test_valid_repository_names(name):
    assert is_repository_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "App",
        "team-a/",
        "/team-a",
        "team--a/../x",
        "a//b",
        "-a",
        "a-",
        "a..b",
        "a___b",
        "a._b",
        "a b",
        "a:b",
        "a@b",
        "a" * 256,
        "tëam",
    ],
)
def test_invalid_repository_names(name):
    assert not is_repository_name(name)


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_x", "A-b_c.d", "1" * 128])
def test_valid_tags(tag):
    assert is_tag(tag)


@pytest.mark.parametrize("tag", ["", ".hidden", "-x", "a/b", "a:b", "1" * 129, "a b"])
def test_invalid_tags(tag):
    assert not is_tag(tag)


def test_digest_grammar():
    assert is_digest("sha256:" + "a" * 64)
    assert not is_digest("sha256")
    assert not is_digest("sha256:")
    assert not is_digest("SHA256:abc")
    assert not is_digest("sha256:" + "a" * 300)


@pytest.mark.parametrize("name", ["prod1", "MyRegistry", "a" * 50])
def test_valid_registry_names(name):
    validate_registry_name(name)


@pytest.mark.parametrize("name", ["abcd", "a" * 51, "my-registry", "my_registry", "prød1", ""])
def test_invalid_registry_names(name):
    with pytest.raises(ValidationError):
        validate_registry_name(name)
