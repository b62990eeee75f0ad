"""The registry backend client: the only code that speaks HTTP to a registry.

    with RegistryClient("http://127.0.0.1:5000", timeout=5) as client:
        for page in client.iter_catalog(page_size=100):
            ...

Everything a caller needs is exported here; see ``client.py`` for what distribution 2.8 does.
"""

from registry.backend.client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, RegistryClient
from registry.backend.errors import (
    NotFound,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
    Unsupported,
)
from registry.backend.types import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageConfig,
    ManifestDocument,
    ManifestRef,
    PingResult,
    Platform,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MANIFEST_MEDIA_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "ImageConfig",
    "ManifestDocument",
    "ManifestRef",
    "NotFound",
    "PingResult",
    "Platform",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "Unauthorized",
    "Unsupported",
]
