"""The tailnet model: a recorded tailnet and the Tailscale API routes that serve it.

`Tailnet` holds a recorded tailnet (fixtures/tailnets/NAME: the `fields=all` device list,
posture per device, and the tailnet's Services). `TailnetAPI` answers the requests the real API
answers, the way it answers them: authentication (API access tokens, and the OAuth tokens it
issues), the device list with its `fields` projection and server-side filters, one device, a
device's routes and its posture attributes, and the Service list on both of its paths. Bodies
are encoded once and cached; the `fields=all` list is served from the file's own bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from harness.canned_server import JSON_TYPE, Answer, RecordedRequest, encode_json, query_text

DEFAULT_TOKEN_SCOPE = "devices:core:read devices:posture_attributes:read devices:routes:read"
SERVICES_SCOPE = "services:read"

# Fields the device endpoints leave out unless `fields=all` is asked for (Tailscale's API
# schema: multipleConnections too, which is also omitted unless true).
ALL_ONLY_FIELDS = (
    "enabledRoutes",
    "advertisedRoutes",
    "clientConnectivity",
    "postureIdentity",
    "sshEnabled",
    "distro",
    "multipleConnections",
)
# What Tailscale answers for a shared-in device's posture: it is managed in its own tailnet.
UNMANAGEABLE_DEVICE = "no manageable device matching this ID found"
# Tailscale's answer to a bad API token or OAuth client secret.
INVALID_CREDENTIAL = "API token invalid"
# Tailscale's answer to a credential without the scope or role a request needs (403).
NOT_PERMITTED = "calling actor does not have enough permissions to perform this function"
# The Service list's paths: Tailscale's Go client (v2.12.0) uses the first, its published API spec
# the second; both answer {"vipServices": [...]}.
SERVICE_LIST_PATHS = ("vip-services", "services")

# The device list, also behind a prefix (an API_BASE that goes through a proxy path).
DEVICE_LIST_PATH = re.compile(r"/tailnet/[^/]+/devices$")


def is_device_list_request(request: RecordedRequest) -> bool:
    return request.method == "GET" and DEVICE_LIST_PATH.search(request.path) is not None


def devices_of(document: Any) -> list | None:
    """The device list of a device-list body (`{"devices": [...]}`), or None for another shape."""
    if isinstance(document, dict) and isinstance(document.get("devices"), list):
        return document["devices"]
    return None


class FilterError(ValueError):
    """A server-side filter the API refuses (on an object field)."""


def device_matches(device: dict, filters: Iterable[tuple[str, tuple[str, ...]]]) -> bool:
    """Server-side `<field>=<value>` filters: exact match, AND across keys; for a list field
    every repeated value must be present; a device without the field does not match."""
    for name, wanted in filters:
        if name not in device:
            return False
        value = device[name]
        if isinstance(value, dict):
            raise FilterError(f"cannot filter on complex field {name!r}")
        if isinstance(value, list):
            have = {query_text(v) for v in value}
            if any(w not in have for w in wanted):
                return False
        elif value is None or any(w != query_text(value) for w in wanted):
            return False
    return True


def services_of(document: Any) -> list | None:
    """The Service list of a Service-list body (`{"vipServices": [...]}`), or None for another shape."""
    if isinstance(document, dict) and isinstance(document.get("vipServices"), list):
        return document["vipServices"]
    return None


class Tailnet:
    """A recorded tailnet: the `fields=all` device list, posture per device, and its Services."""

    def __init__(
        self,
        devices_body: bytes | None = None,
        *,
        devices: list[dict] | None = None,
        posture: Mapping[str, Any] | None = None,
        services: list[dict] | None = None,
        name: str = "",
    ):
        if devices_body is None:
            devices_body = encode_json({"devices": list(devices or [])})
        listed = devices_of(json.loads(devices_body))
        if listed is None:
            raise ValueError(f"tailnet {name!r}: devices body must be an object with a 'devices' list")
        self.name = name
        self.devices: list[dict] = listed
        self.posture: dict[str, Any] = dict(posture or {})
        self.services: list[dict] = list(services or [])
        self._all_body = devices_body
        self._by_id: dict[str, dict] = {}
        for device in self.devices:
            for key in ("nodeId", "id"):
                if isinstance(device.get(key), str) and device[key]:
                    self._by_id.setdefault(device[key], device)
        self._cache: dict[Any, bytes] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def from_dir(cls, path: Path) -> Tailnet:
        devices_file = path / "devices.json"
        if not devices_file.is_file():
            raise FileNotFoundError(f"tailnet directory {path} has no devices.json")
        posture_file = path / "posture.json"
        posture = json.loads(posture_file.read_bytes()) if posture_file.is_file() else {}
        if not isinstance(posture, dict):
            raise ValueError(f"{posture_file}: expected an object mapping nodeId to an attributes body")
        services_file = path / "services.json"
        services: list | None = []
        if services_file.is_file():
            services = services_of(json.loads(services_file.read_bytes()))
            if services is None:
                raise ValueError(f"{services_file}: expected an object with a 'vipServices' list")
        return cls(devices_file.read_bytes(), posture=posture, services=services, name=path.name)

    def _cached(self, key: Any, build: Callable[[], bytes]) -> bytes:
        body = self._cache.get(key)
        if body is None:
            with self._cache_lock:
                body = self._cache.get(key)
                if body is None:
                    body = build()
                    self._cache[key] = body
        return body

    def find(self, device_id: str) -> dict | None:
        """A device by nodeId or legacy id."""
        return self._by_id.get(device_id)

    @staticmethod
    def project(device: dict, all_fields: bool) -> dict:
        if all_fields:
            return device
        return {k: v for k, v in device.items() if k not in ALL_ONLY_FIELDS}

    def list_body(self, all_fields: bool, filters: tuple[tuple[str, tuple[str, ...]], ...],
                  shared_in: bool = True) -> bytes:
        """The device list; shared_in False leaves out devices shared in from other tailnets,
        which Tailscale does not list to an OAuth client's token (a client is no user, and
        devices are shared with users)."""
        if all_fields and not filters and shared_in:
            return self._all_body

        def build() -> bytes:
            selected = [d for d in self.devices if device_matches(d, filters)
                        and (shared_in or d.get("isExternal") is not True)]
            return encode_json({"devices": [self.project(d, all_fields) for d in selected]})

        return self._cached(("list", all_fields, filters, shared_in), build)

    def device_body(self, device: dict, all_fields: bool) -> bytes:
        return self._cached(
            ("device", device.get("nodeId") or device.get("id"), all_fields),
            lambda: encode_json(self.project(device, all_fields)),
        )

    def routes_body(self, device: dict) -> bytes:
        return self._cached(
            ("routes", device.get("nodeId") or device.get("id")),
            lambda: encode_json(
                {
                    "advertisedRoutes": device.get("advertisedRoutes") or [],
                    "enabledRoutes": device.get("enabledRoutes") or [],
                }
            ),
        )

    def posture_body(self, device: dict) -> bytes:
        def build() -> bytes:
            for key in (device.get("nodeId"), device.get("id")):
                if key in self.posture:
                    return encode_json(self.posture[key])
            return encode_json({"attributes": {}})

        return self._cached(("posture", device.get("nodeId") or device.get("id")), build)

    def services_body(self) -> bytes:
        """The Service list; a tailnet without Services answers an empty list."""
        return self._cached("services", lambda: encode_json({"vipServices": self.services}))


# The tailnet loaded last, reused while its files are unchanged: a scenario run once per
# transport mode, many scenarios over one tailnet, or the benchmark's runs over one generated
# tailnet load it once. One entry, so a 50,000-device tailnet is dropped when the next loads.
_LAST_TAILNET: dict[Path, tuple[Any, Tailnet]] = {}
_LAST_TAILNET_LOCK = threading.Lock()


def load_tailnet(directory: Path) -> Tailnet:
    """The tailnet in directory (devices.json, optional posture.json and services.json)."""
    directory = directory.resolve()
    stamp = tuple(
        (p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None
        for p in (directory / "devices.json", directory / "posture.json", directory / "services.json")
    )
    with _LAST_TAILNET_LOCK:
        cached = _LAST_TAILNET.get(directory)
        if cached is None or cached[0] != stamp:
            _LAST_TAILNET.clear()
            cached = _LAST_TAILNET[directory] = (stamp, Tailnet.from_dir(directory))
        return cached[1]


# --------------------------------------------------------------------------- credentials


@dataclass
class AuthConfig:
    """What the API accepts: API access tokens, OAuth clients, tailnet names, the lifetime of
    the tokens it issues, and whether its credentials may read Services."""

    api_keys: list[str]
    oauth_clients: dict[str, str]
    tailnets: list[str]
    token_expires_in: int  # seconds, reported and enforced (wall clock)
    token_max_uses: int | None  # an issued token is refused after this many uses; None: unlimited
    services_read: bool = True  # False: the Service list answers 403, as to a credential without the right

    def secrets(self) -> list[str]:
        return list(self.api_keys) + list(self.oauth_clients.values())


def basic_credentials(value: str) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic ...` value, or None."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


def credential_from_header(value: str | None) -> str | None:
    """The credential in `Authorization: Bearer X`, or Basic with X as the user name."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None
    pair = basic_credentials(value)
    return (pair[0] or None) if pair else None


def oauth_client_from_header(value: str | None) -> tuple[str, str] | None:
    """OAuth client authentication by HTTP Basic (RFC 6749 2.3.1: form-encoded id and secret)."""
    pair = basic_credentials(value) if value else None
    return (unquote(pair[0]), unquote(pair[1])) if pair else None


class _IssuedToken:
    __slots__ = ("expires_at", "uses")

    def __init__(self, expires_at: float):
        self.expires_at = expires_at
        self.uses = 0


# --------------------------------------------------------------------------- the API


def _error(status: int, message: str) -> Answer:
    return Answer(status, encode_json({"message": message}), {"Content-Type": JSON_TYPE})


NOT_FOUND = _error(404, "not found")


def _json(body: bytes) -> Answer:
    return Answer(200, body, {"Content-Type": JSON_TYPE})


def _wants_all(query: Mapping[str, list[str]]) -> bool:
    return any("all" in v.split(",") for v in query.get("fields", []))


# Who a valid credential belongs to: a user (API access token) or an OAuth client.
USER = "user"
OAUTH = "oauth"


class TailnetAPI:
    """The Tailscale API's routes over one tailnet (None: no tailnet, the device routes answer
    404 while OAuth token issuing still works). `answer` is a CannedServer fallback: it returns
    None for a request the API does not have."""

    def __init__(self, tailnet: Tailnet | None, auth: AuthConfig):
        self.tailnet = tailnet
        self.auth = auth
        self._lock = threading.Lock()
        self._issued: dict[str, _IssuedToken] = {}
        self._issued_order: list[str] = []

    @property
    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued_order)

    def answer(self, request: RecordedRequest) -> Answer | None:
        segments = [unquote(s) for s in request.path.split("/")[1:]]
        if segments[:2] != ["api", "v2"]:
            return None
        rest = segments[2:]
        if rest == ["oauth", "token"]:
            return self._oauth_token(request) if request.method == "POST" else None
        if request.method != "GET" or self.tailnet is None:
            return None
        if len(rest) == 3 and rest[0] == "tailnet" and rest[2] == "devices":
            caller, refusal = self._caller(request)
            return refusal or self._list_devices(rest[1], request.query, shared_in=caller == USER)
        if len(rest) == 3 and rest[0] == "tailnet" and rest[2] in SERVICE_LIST_PATHS:
            _, refusal = self._caller(request)
            return refusal or self._list_services(rest[1])
        if len(rest) in (2, 3) and rest[0] == "device" and (len(rest) == 2 or rest[2] in ("attributes", "routes")):
            _, refusal = self._caller(request)
            if refusal:
                return refusal
            device = self.tailnet.find(rest[1])
            if device is None:
                return _error(404, "device not found")
            if len(rest) == 2:
                return _json(self.tailnet.device_body(device, _wants_all(request.query)))
            if rest[2] == "attributes":
                if device.get("isExternal") is True:
                    return _error(404, UNMANAGEABLE_DEVICE)
                return _json(self.tailnet.posture_body(device))
            return _json(self.tailnet.routes_body(device))
        return None

    def _caller(self, request: RecordedRequest) -> tuple[str | None, Answer | None]:
        """(USER for an API access token or OAUTH for a token this mock minted, None) when the
        request carries a valid credential, else (None, the 401 answer)."""
        credential = credential_from_header(request.header("Authorization"))
        if credential is None:
            return None, _error(401, "missing or malformed Authorization header")
        if credential in self.auth.api_keys:
            return USER, None
        with self._lock:
            issued = self._issued.get(credential)
            if issued is not None:
                if time.monotonic() >= issued.expires_at:
                    return None, _error(401, "token expired")
                if self.auth.token_max_uses is not None and issued.uses >= self.auth.token_max_uses:
                    return None, _error(401, "token expired")
                issued.uses += 1
                return OAUTH, None
        return None, _error(401, INVALID_CREDENTIAL)

    def _oauth_token(self, request: RecordedRequest) -> Answer:
        form = parse_qs(request.body, keep_blank_values=True)
        client_secret = (form.get("client_secret") or [""])[0]
        pair = oauth_client_from_header(request.header("Authorization"))
        if pair and not client_secret:
            client_secret = pair[1]
        grant_type = (form.get("grant_type") or ["client_credentials"])[0]
        if grant_type != "client_credentials":
            return _error(400, f"unsupported grant_type {grant_type!r}")
        # Tailscale identifies the client by its secret; the client_id sent is ignored.
        if client_secret not in self.auth.oauth_clients.values():
            return _error(401, INVALID_CREDENTIAL)
        with self._lock:
            token = f"tskey-api-mock{len(self._issued_order) + 1}CNTRL-{secrets.token_hex(12)}"
            self._issued[token] = _IssuedToken(time.monotonic() + self.auth.token_expires_in)
            self._issued_order.append(token)
        return _json(
            encode_json(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": self.auth.token_expires_in,
                    "scope": (form.get("scope") or [self._granted_scope()])[0],
                }
            )
        )

    def _granted_scope(self) -> str:
        return DEFAULT_TOKEN_SCOPE + (" " + SERVICES_SCOPE if self.auth.services_read else "")

    def _list_services(self, tailnet: str) -> Answer:
        if tailnet not in self.auth.tailnets:
            return _error(404, "tailnet not found")
        if not self.auth.services_read:
            return _error(403, NOT_PERMITTED)
        return _json(self.tailnet.services_body())

    def _list_devices(self, tailnet: str, query: Mapping[str, list[str]], shared_in: bool) -> Answer:
        if tailnet not in self.auth.tailnets:
            return _error(404, "tailnet not found")
        filters = tuple(sorted((k, tuple(v)) for k, v in query.items() if k != "fields"))
        try:
            return _json(self.tailnet.list_body(_wants_all(query), filters, shared_in))
        except FilterError as exc:
            return _error(400, str(exc))
