"""Typed results of the backend client, and the media types it understands.

All results are frozen dataclasses built from what the registry answered; nothing here talks
to a registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

# What the client accepts for manifests; without the OCI types distribution answers 404
# ("OCI manifest found, but accept header does not support OCI manifests").
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
INDEX_MEDIA_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})


@dataclass(frozen=True)
class Platform:
    """The platform an index entry or image config targets (``linux/arm64/v8``)."""

    architecture: str
    os: str
    variant: str = ""

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


@dataclass(frozen=True)
class Descriptor:
    """A reference to content by digest: a config, a layer, or an index's child manifest."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None


@dataclass(frozen=True)
class ManifestRef:
    """What a ``HEAD`` on a manifest tells: enough to resolve a tag to a digest."""

    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class ManifestDocument:
    """A manifest as stored: an image manifest (config + layers) or an index (children).

    ``size`` is the size of the manifest itself, not of the image it describes.
    """

    digest: str
    media_type: str
    size: int
    raw: bytes = field(repr=False)
    config: Descriptor | None = None
    layers: list[Descriptor] = field(default_factory=list)
    children: list[Descriptor] = field(default_factory=list)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config blob the portal shows."""

    architecture: str
    os: str
    variant: str = ""
    created: datetime | None = None


@dataclass(frozen=True)
class PingResult:
    """A successful ``GET /v2/``: the API version the registry announces, and the round trip."""

    api_version: str
    latency_ms: float
