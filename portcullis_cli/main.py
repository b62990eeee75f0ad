"""``portcullis login REGISTRY``: sign docker, skopeo and oras in to a Portcullis registry.

Like ``az acr login``: it trades a credential for a registry refresh token at the portal's
``/oauth2/exchange`` and stores that token as the registry's *identity token*, with the user
name ``00000000-0000-0000-0000-000000000000``, where the clients look for it:

- the Docker config (``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``), which
  docker, oras and skopeo read; when that config names a credential helper (``credsStore``,
  ``credHelpers``) the token goes to the helper instead, as docker would do;
- the containers auth file (``--auth-file``, else ``$REGISTRY_AUTH_FILE`` when set), which
  skopeo, podman and buildah read first.

The credential is an Entra ID access token for the portal's API (``--entra-token``, or
``$PORTCULLIS_ENTRA_TOKEN``; ``-`` reads it from standard input), e.g. from
``az account get-access-token --scope api://<client id>/.default --query accessToken -o tsv``,
or a user name and personal access token (``--username`` and ``--password-stdin``).

Where the portal is and what the registry's service name is come from the registry's own
``401`` answer to ``GET /v2/`` (its ``Bearer realm`` and ``service``), so the registry is all
you name; ``--portal`` and ``--service`` override that.

Only the standard library and httpx: it runs wherever Portcullis is installed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

NULL_ACCOUNT = "00000000-0000-0000-0000-000000000000"
TIMEOUT = 30.0


class LoginError(Exception):
    """Something the person must fix; the message says what."""


@dataclass(frozen=True)
class Registry:
    base_url: str  # http(s)://host[:port]
    host: str  # how clients name it: host[:port]


@dataclass(frozen=True)
class TokenService:
    exchange_url: str
    service: str


def parse_registry(text: str) -> Registry:
    """``registry.example.com``, ``127.0.0.1:5000`` or ``http://127.0.0.1:5000``."""
    text = text.strip().rstrip("/")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise LoginError(f"{text!r} is not a registry: give its host name, e.g. myregistry:5000.")
    return Registry(base_url=f"{parts.scheme}://{parts.netloc}", host=parts.netloc)


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def discover(registry: Registry, client: httpx.Client) -> TokenService:
    """The portal's exchange endpoint and the service name, from the registry's challenge."""
    try:
        response = client.get(f"{registry.base_url}/v2/")
    except httpx.HTTPError as exc:
        raise LoginError(f"Cannot reach the registry at {registry.base_url}: {exc}") from None
    challenge = response.headers.get("WWW-Authenticate", "")
    scheme, _, params = challenge.partition(" ")
    values = dict(_CHALLENGE_PARAM.findall(params))
    if response.status_code != 401 or scheme.lower() != "bearer" or "realm" not in values:
        raise LoginError(
            f"{registry.host} does not send clients to a token server (it answered "
            f"{response.status_code} without a Bearer challenge); is it a Portcullis registry?"
        )
    realm = urlsplit(values["realm"])
    # ACR's layout, and the portal's: /oauth2/exchange beside /oauth2/token.
    path = realm.path.rsplit("/", 1)[0] + "/exchange"
    return TokenService(
        exchange_url=urlunsplit((realm.scheme, realm.netloc, path, "", "")),
        service=values.get("service", ""),
    )


def unverified_claims(token: str) -> dict:
    """The payload of a JWT, unchecked (the portal checks it): for the tenant id only."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise LoginError("The Entra token is not a JWT access token.") from None


def exchange(client: httpx.Client, service: TokenService, form: dict[str, str]) -> str:
    """A refresh token from the portal; LoginError with the portal's own words otherwise."""
    try:
        response = client.post(service.exchange_url, data={"service": service.service, **form})
    except httpx.HTTPError as exc:
        raise LoginError(f"Cannot reach the portal at {service.exchange_url}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body.get("refresh_token"), str):
        return body["refresh_token"]
    messages = [e.get("message", "") for e in body.get("errors", []) if isinstance(e, dict)]
    reason = " ".join(m for m in messages if m) or response.reason_phrase
    raise LoginError(f"The portal refused the sign-in ({response.status_code}): {reason}")


# Writing the credentials --------------------------------------------------------------------


def _write_json(path: Path, data: dict) -> None:
    """Replace ``path`` atomically, readable by its owner only (it holds a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent="\t")
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except ValueError:
        raise LoginError(f"{path} is not valid JSON; fix or remove it first.") from None
    if not isinstance(data, dict):
        raise LoginError(f"{path} does not hold a JSON object; fix or remove it first.")
    return data


def _entry(refresh_token: str) -> dict[str, str]:
    # Docker's own shape for an identity token: the user name with an empty password, and
    # the token beside it.
    auth = base64.b64encode(f"{NULL_ACCOUNT}:".encode()).decode()
    return {"auth": auth, "identitytoken": refresh_token}


def docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def store_with_helper(helper: str, host: str, refresh_token: str) -> None:
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise LoginError(
            f"The Docker config uses the credential helper {helper!r}, but "
            f"docker-credential-{helper} is not installed."
        )
    payload = json.dumps({"ServerURL": host, "Username": "<token>", "Secret": refresh_token})
    result = subprocess.run(
        [program, "store"], input=payload, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise LoginError(f"docker-credential-{helper} could not store the token: {result.stderr}")


def store_in_docker_config(path: Path, host: str, refresh_token: str) -> str:
    """Store the token for ``host`` as docker would; says where it went."""
    config = _read_json(path)
    helper = (config.get("credHelpers") or {}).get(host) or config.get("credsStore")
    if helper:
        store_with_helper(helper, host, refresh_token)
        # Docker still lists the registry under auths, without the secret.
        config.setdefault("auths", {})[host] = {}
        _write_json(path, config)
        return f"docker-credential-{helper}"
    config.setdefault("auths", {})[host] = _entry(refresh_token)
    _write_json(path, config)
    return str(path)


def store_in_auth_file(path: Path, host: str, refresh_token: str) -> str:
    config = _read_json(path)
    config.setdefault("auths", {})[host] = _entry(refresh_token)
    _write_json(path, config)
    return str(path)


# The command --------------------------------------------------------------------------------


def _read_secret(value: str | None, stdin: bool, name: str) -> str:
    if stdin or value == "-":
        secret = sys.stdin.readline().strip()
        if not secret:
            raise LoginError(f"No {name} on standard input.")
        return secret
    return (value or "").strip()


def login(arguments: argparse.Namespace) -> list[str]:
    """Sign in; returns where the token was stored."""
    registry = parse_registry(arguments.registry)
    entra_token = _read_secret(
        arguments.entra_token or os.environ.get("PORTCULLIS_ENTRA_TOKEN"),
        False,
        "Entra access token",
    )
    if arguments.username:
        if not arguments.password_stdin:
            raise LoginError("--username needs --password-stdin (a personal access token).")
        password = _read_secret(None, True, "personal access token")
        form = {"grant_type": "password", "username": arguments.username, "password": password}
    elif entra_token:
        tenant = arguments.tenant or str(unverified_claims(entra_token).get("tid", ""))
        if not tenant:
            raise LoginError("The Entra token names no tenant (tid); give --tenant.")
        form = {"grant_type": "access_token", "tenant": tenant, "access_token": entra_token}
    else:
        raise LoginError(
            "Give an Entra access token (--entra-token, or PORTCULLIS_ENTRA_TOKEN) or a "
            "personal access token (--username NAME --password-stdin)."
        )
    with httpx.Client(timeout=TIMEOUT, verify=not arguments.insecure) as client:
        if arguments.portal:
            portal = arguments.portal.rstrip("/")
            token_service = TokenService(f"{portal}/oauth2/exchange", arguments.service or "")
            if not token_service.service:
                token_service = TokenService(
                    token_service.exchange_url, discover(registry, client).service
                )
        else:
            token_service = discover(registry, client)
            if arguments.service:
                token_service = TokenService(token_service.exchange_url, arguments.service)
        refresh_token = exchange(client, token_service, form)
    stored = [store_in_docker_config(docker_config_path(), registry.host, refresh_token)]
    auth_file = arguments.auth_file or os.environ.get("REGISTRY_AUTH_FILE")
    if auth_file:
        stored.append(store_in_auth_file(Path(auth_file), registry.host, refresh_token))
    return stored


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="portcullis", description="Command-line helpers for Portcullis registries."
    )
    commands = top.add_subparsers(dest="command", required=True)
    command = commands.add_parser(
        "login",
        help="sign docker, skopeo and oras in to a registry (like az acr login)",
        description=(
            "Trade an Entra ID access token or a personal access token for a registry refresh "
            "token at the portal, and store it where docker, skopeo and oras look for "
            "credentials (the Docker config, and $REGISTRY_AUTH_FILE when set)."
        ),
    )
    command.add_argument("registry", help="the registry, e.g. myregistry.example.com[:port]")
    command.add_argument(
        "--entra-token", help="an Entra ID access token for the portal ('-': stdin)"
    )
    command.add_argument("--tenant", help="the Entra tenant id (default: the token's tid)")
    command.add_argument("-u", "--username", help="your portal user name (with --password-stdin)")
    command.add_argument(
        "--password-stdin", action="store_true", help="read a personal access token from stdin"
    )
    command.add_argument("--portal", help="the portal's URL (default: from the registry)")
    command.add_argument("--service", help="the registry's token service name")
    command.add_argument(
        "--auth-file", help="also write this containers auth file (default: $REGISTRY_AUTH_FILE)"
    )
    command.add_argument(
        "--insecure", action="store_true", help="do not verify TLS certificates (testing only)"
    )
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        stored = login(arguments)
    except LoginError as exc:
        print(f"portcullis login: {exc}", file=sys.stderr)
        return 1
    for place in stored:
        print(f"Stored the refresh token for {parse_registry(arguments.registry).host} in {place}")
    print("Login Succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
