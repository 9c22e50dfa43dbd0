#!/usr/bin/env python3
"""Generate a synthetic tailnet in the recorded-fixture format.

    python -m harness.generate_tailnet --devices N --out DIR [--seed S] [--now RFC3339]

writes DIR/devices.json (the body of `GET /api/v2/tailnet/-/devices?fields=all`,
`{"devices": [...]}`) and DIR/posture.json (device nodeId -> body of
`GET /api/v2/device/{nodeId}/attributes`).

The mix follows fixtures/tailnets/sample: Linux servers, subnet routers, exit nodes
(approved and awaiting approval), ephemeral containers, macOS, Windows, iPhone,
iPad, Android, Apple TV, FreeBSD and shared-in external devices, plus the odd
unauthorized, never-connected, stale, expiring, expired, tailnet-lock-broken,
multiply-connected device, one named by a placeholder such as `localhost` (from
harness.hostnames, the list the script drops) and one still running a client years old. Every value is an
example/documentation value (example.com users, tail0example.ts.net names,
100.64.0.0/10 and fd7a:115c:a1e0::/48 addresses, RFC 5737/3849 endpoints).

Output is a pure function of (devices, seed, now): same arguments, same bytes.
Standard library and the harness only.
"""

import argparse
import json
import os
import random
import sys
import time

from harness.hostnames import PLACEHOLDER_HOSTNAMES
from harness.times import FIXTURES_NOW, parse_rfc3339

DOMAIN = "tail0example.ts.net"
ZERO_TIME = "0001-01-01T00:00:00Z"
EXIT_ROUTES = ("0.0.0.0/0", "::/0")
DAY = 86400

# Organisationally unique identifiers of real NIC makers (Apple, Intel, Dell, Microsoft Hyper-V,
# Raspberry Pi): universally administered, so their MACs identify one card.
HARDWARE_OUIS = ("a4:83:e7", "3c:22:fb", "f0:18:98", "8c:8c:aa", "00:1b:21", "f8:bc:12", "00:15:5d", "b8:27:eb")
# What Tailscale reports as posture ip:country, two-letter codes.
COUNTRIES = ("US", "US", "US", "DE", "GB", "FR", "NL", "JP", "CA", "AU")

# kind -> relative weight in the mix
KIND_WEIGHTS = (
    ("linux-server", 17),
    ("subnet-router", 3),
    ("exit-node", 2),
    ("container", 8),
    ("macos", 16),
    ("windows", 18),
    ("iphone", 11),
    ("ipad", 3),
    ("android", 9),
    ("tvos", 1),
    ("freebsd", 1),
    ("external", 3),
)
KINDS = tuple(k for k, _ in KIND_WEIGHTS)
TAGGED_KINDS = frozenset(("linux-server", "subnet-router", "exit-node", "container", "freebsd"))

OS_NAME = {
    "linux-server": "linux", "subnet-router": "linux", "exit-node": "linux",
    "container": "linux", "macos": "macOS", "windows": "windows", "iphone": "iOS",
    "ipad": "iOS", "android": "android", "tvos": "tvOS", "freebsd": "freebsd",
}
POSTURE_OS = {"linux": "linux", "macOS": "macos", "windows": "windows", "iOS": "ios",
              "android": "android", "tvOS": "tvos", "freebsd": "freebsd"}

FIRST_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    "wendy", "amara", "bruno", "chen", "dmitri", "elif", "farah", "goran", "hana", "ines",
    "jonas", "kenji", "leila", "mateo", "noor", "oskar", "priya", "quinn", "rosa", "sven",
    "tariq", "uma", "yusuf", "zoe", "liam", "maya", "sean", "aoife", "siobhan", "renee",
)
LAST_NAMES = (
    "nguyen", "smith", "garcia", "mueller", "rossi", "kowalski", "tanaka", "okafor",
    "silva", "novak", "jensen", "larsen", "murphy", "obrien", "dubois", "haddad", "kim",
    "patel", "singh", "cohen", "ivanova", "moreau", "schmidt", "berg", "costa", "lopez",
    "sato", "wang", "ahmed", "fischer",
)
ADMINS = ("ops-admin@example.com", "platform@example.com", "netops@example.com",
          "ci-bot@example.com")
PARTNERS = ("partner", "vendor-a", "contractor", "acme-partner", "research")
ROLES = ("web", "api", "db", "cache", "worker", "k8s-node", "build", "log", "mq",
         "search", "vault", "grafana", "etl", "gitlab")
ENVS = ("prod", "stg", "dev")
SITES = ("nyc", "sfo", "fra", "lon", "sgp", "syd", "tor", "dal", "ams", "tyo", "sao", "jnb")
APPS = ("ci-runner", "preview", "job", "egress", "batch", "svc")
ANDROID_MODELS = ("Pixel 8 Pro", "Pixel 9", "Pixel 7a", "Galaxy S24", "SM-S921B",
                  "OnePlus 12", "moto g 5G", "Galaxy Tab S9", "Nothing Phone 2")
MAC_MODELS = ("MacBook Pro", "MacBook Air", "Mac mini", "iMac", "Mac Studio")
TV_NAMES = ("Living Room", "Conference Room A", "Conference Room B", "Lobby", "Apple TV",
            "Board Room", "Break Room")
BSD_NAMES = ("bsd-nas", "pf-gw", "jail-www", "zfs-backup")
ALNUM_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# DERP regions by area: display names as used in latency maps
REGION_GROUPS = (
    ("New York City", "Chicago", "Ashburn", "Toronto", "Miami", "Dallas"),
    ("San Francisco", "Seattle", "Los Angeles", "Denver", "Dallas"),
    ("Frankfurt", "Amsterdam", "London", "Paris", "Warsaw", "Madrid", "Nuremberg", "Helsinki"),
    ("Singapore", "Tokyo", "Hong Kong", "Bangalore", "Sydney"),
    ("São Paulo", "Miami", "Dallas"),
    ("Johannesburg", "Nairobi", "Dubai", "Frankfurt"),
)
REGION_GROUP_WEIGHTS = (30, 25, 28, 10, 4, 3)

# tailscale client releases, newest first: (version, relative weight)
RELEASES = (("1.96.4", 40), ("1.96.2", 12), ("1.94.2", 14), ("1.94.1", 9), ("1.92.5", 9),
            ("1.92.3", 5), ("1.90.9", 6), ("1.88.3", 5))
LATEST = RELEASES[0][0]
# Releases years old that a forgotten device still runs (a NAS, an old Raspberry Pi), each in the
# range of a Tailscale security bulletin, and how often a device runs one.
OLD_RELEASES = ("1.32.2", "1.36.2", "1.44.2", "1.56.1", "1.64.2", "1.76.6")
OLD_CLIENT_RATE = 0.005

DISTROS = (  # (name, version, codeName, weight) for servers; containers are alpine
    ("ubuntu", "24.04", "noble", 35), ("ubuntu", "22.04", "jammy", 18),
    ("ubuntu", "25.10", "questing", 4), ("debian", "13", "trixie", 12),
    ("debian", "12", "bookworm", 14), ("rhel", "9.6", "", 6), ("rocky", "9.6", "", 4),
    ("amzn", "2023", "", 5), ("fedora", "43", "", 2),
)
KERNELS = {
    "ubuntu": ("6.8.0-87-generic", "5.15.0-161-generic", "6.17.0-8-generic"),
    "debian": ("6.12.48+deb13-amd64", "6.1.0-41-amd64", "6.12.47+rpt-rpi-v8"),
    "rhel": ("5.14.0-570.52.1.el9_6.x86_64",), "rocky": ("5.14.0-570.49.1.el9_6.x86_64",),
    "amzn": ("6.1.155-176.282.amzn2023.x86_64",), "fedora": ("6.17.7-300.fc43.x86_64",),
    "alpine": ("6.6.58-0-virt", "6.12.13-0-lts"),
}
OS_VERSIONS = {
    "macOS": ("26.1.0", "26.0.1", "15.7.2", "15.6.1", "14.8.1"),
    "windows": ("10.0.26100.7171", "10.0.26100.6899", "10.0.22631.6199", "10.0.19045.6456"),
    "iphone": ("26.1", "26.0.1", "18.7.2", "18.6.2"),
    "ipad": ("26.1", "18.7.2", "18.6.2", "17.7.10"),
    "android": ("16", "15", "14"),
    "tvos": ("26.1", "18.6"),
    "freebsd": ("14.3-RELEASE-p4", "14.2-RELEASE-p6", "13.5-RELEASE-p3"),
}


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def slug(hostname):
    out = []
    dash = False
    for ch in hostname.lower():
        if ch == "'":
            continue
        if ch.isascii() and ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    label = "".join(out).strip("-")
    return label or "device"


def base62(value, width):
    chars = []
    for _ in range(width):
        value, r = divmod(value, 62)
        chars.append(BASE62[r])
    return "".join(reversed(chars))


class Generator:
    def __init__(self, seed, now_epoch):
        self.rng = random.Random(seed)
        # Fields added after the first release draw from their own stream, so every value the
        # main stream produced before stays the same for a given seed.
        self.extra_rng = random.Random("%d-extra" % seed)
        # Old clients came later still, and draw from a stream of their own for the same reason.
        self.old_client_rng = random.Random("%d-old-clients" % seed)
        self.now = now_epoch
        rng = self.rng
        # bijections i -> id space, chosen per seed
        self.node_mul = rng.randrange(1, 62 ** 7) | 1
        while self.node_mul % 31 == 0:
            self.node_mul = rng.randrange(1, 62 ** 7) | 1
        self.node_add = rng.randrange(62 ** 7)
        self.ip_mul = rng.randrange(1, 1 << 22) | 1
        self.ip_add = rng.randrange(1 << 22)
        self.ip_next = 0
        self.v6_mul = rng.randrange(1, 1 << 32) | 1
        self.id_base = 100000000000 + rng.randrange(1, 900) * 100000000
        self.used_labels = set()
        # one build hash per release, like real builds
        self.release_strings = {}
        for version, _ in RELEASES:
            self.release_strings[version] = "%s-t%09x-g%09x" % (
                version, rng.getrandbits(36), rng.getrandbits(36))
        self.release_names = [v for v, _ in RELEASES]
        self.release_cum = self._cum([w for _, w in RELEASES])
        self.distro_cum = self._cum([d[3] for d in DISTROS])
        self.group_cum = self._cum(list(REGION_GROUP_WEIGHTS))

    @staticmethod
    def _cum(weights):
        total = 0
        out = []
        for w in weights:
            total += w
            out.append(total)
        return out

    def pick(self, seq, cum):
        return self.rng.choices(seq, cum_weights=cum)[0]

    # ---- identifiers ----------------------------------------------------------
    def node_id(self, i):
        return "n" + base62((i * self.node_mul + self.node_add) % (62 ** 7), 7) + "CNTRL"

    def addresses(self):
        while True:
            off = (self.ip_next * self.ip_mul + self.ip_add) & ((1 << 22) - 1)
            self.ip_next += 1
            if self.ip_next > (1 << 22):
                raise ValueError("address space of 100.64.0.0/10 exhausted")
            b2 = 64 + (off >> 16)
            b3 = (off >> 8) & 255
            b4 = off & 255
            if b4 in (0, 255) or b2 == 100 or (b2 == 115 and b3 in (92, 93)):
                continue  # Tailscale's reserved quad-100 and service ranges
            break
        x = (off * self.v6_mul) & 0xFFFFFFFF
        hi, lo = x >> 16, x & 0xFFFF
        if hi:
            v6 = "fd7a:115c:a1e0::%x:%x" % (hi, lo)
        elif lo:
            v6 = "fd7a:115c:a1e0::%x" % lo
        else:
            v6 = "fd7a:115c:a1e0::"
        return ["100.%d.%d.%d" % (b2, b3, b4), v6]

    def label(self, hostname):
        base = slug(hostname)
        label = base
        n = 0
        while label in self.used_labels:
            n += 1
            label = "%s-%d" % (base, n)
        self.used_labels.add(label)
        return label

    def key(self):
        return "%064x" % self.rng.getrandbits(256)

    # ---- pieces ------------------------------------------------------------------
    def person(self):
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        return first, "%s.%s@example.com" % (first, rng.choice(LAST_NAMES))

    def hostname_for(self, kind, first):
        """(hostname, the tags the device carries if it is tagged)"""
        rng = self.rng
        if kind == "linux-server":
            role = rng.choice(ROLES)
            name = "%s-%02d" % (role, rng.randrange(1, 100))
            tags = ["tag:server", "tag:" + role]
            if rng.random() < 0.5:
                env = rng.choice(ENVS)
                name = env + "-" + name
                tags.append("tag:" + env)
            return name, tags
        if kind == "subnet-router":
            return ("%s-router-%02d" % (rng.choice(SITES), rng.randrange(1, 20)),
                    ["tag:server", "tag:subnet-router"])
        if kind == "exit-node":
            return ("exit-%s-%02d" % (rng.choice(SITES), rng.randrange(1, 20)),
                    ["tag:exit-node", "tag:server"])
        if kind == "container":
            app = rng.choice(APPS)
            return "%s-%05x" % (app, rng.getrandbits(20)), ["tag:container", "tag:" + app]
        if kind == "freebsd":
            return ("%s-%02d" % (rng.choice(BSD_NAMES), rng.randrange(1, 30)),
                    ["tag:server", "tag:storage"])
        if kind == "tvos":
            return rng.choice(TV_NAMES), ["tag:media"]
        if kind == "macos":
            model = rng.choice(MAC_MODELS)
            if rng.random() < 0.7:
                return "%s's %s" % (first.capitalize(), model), None
            return "%s-%d" % (model.replace(" ", "-"), rng.randrange(2, 40)), None
        if kind == "windows":
            return "%s-%s" % (rng.choice(("DESKTOP", "LAPTOP")),
                              "".join(rng.choice(ALNUM_UPPER) for _ in range(7))), None
        if kind == "iphone":
            return ("%s's iPhone" % first.capitalize() if rng.random() < 0.75 else "iPhone"), None
        if kind == "ipad":
            return ("%s's iPad" % first.capitalize() if rng.random() < 0.7 else "iPad"), None
        return rng.choice(ANDROID_MODELS), None  # android

    def public_v4(self):
        rng = self.rng
        return "%s.%d" % (rng.choice(("192.0.2", "198.51.100", "203.0.113")), rng.randrange(1, 255))

    def lan_v4(self):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return "192.168.%d.%d" % (rng.choice((0, 1, 1, 10, 50, 88)), rng.randrange(2, 254))
        if r < 0.8:
            return "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        return "172.%d.%d.%d" % (rng.randrange(16, 32), rng.randrange(256), rng.randrange(1, 255))

    def endpoints(self, kind):
        rng = self.rng
        port = 41641 if kind in TAGGED_KINDS or rng.random() < 0.5 else rng.randrange(1024, 65535)
        eps = ["%s:%d" % (self.public_v4(), port)]
        mobile = kind in ("iphone", "ipad", "android")
        if not mobile or rng.random() < 0.4:
            eps.append("%s:41641" % self.lan_v4())
        if rng.random() < 0.35:
            eps.append("[2001:db8:%x::%x]:%d" % (rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF),
                                                 port))
        return eps

    def latency(self):
        rng = self.rng
        group = self.pick(REGION_GROUPS, self.group_cum)
        regions = rng.sample(group, min(len(group), rng.randrange(2, 5)))
        best = round(rng.uniform(1.0, 45.0), 6)
        out = {}
        pref_at = rng.randrange(len(regions))
        for n, region in enumerate(regions):
            if n == pref_at:
                out[region] = {"preferred": True, "latencyMs": best}
            else:
                out[region] = {"latencyMs": round(best + rng.uniform(2.0, 80.0), 6)}
        return out

    def connectivity(self, kind, never):
        rng = self.rng
        if never:
            return {"endpoints": [], "mappingVariesByDestIP": False, "latency": {},
                    "clientSupports": {"hairPinning": None, "ipv6": False, "pcp": False,
                                       "pmp": False, "udp": False, "upnp": False}}
        home = kind in ("macos", "windows", "ipad", "tvos") or kind == "iphone" and rng.random() < 0.5
        eps = self.endpoints(kind)
        return {
            "endpoints": eps,
            "mappingVariesByDestIP": rng.random() < (0.2 if home else 0.05),
            "latency": self.latency(),
            "clientSupports": {
                "hairPinning": None,
                "ipv6": any(e.startswith("[") for e in eps),
                "pcp": rng.random() < 0.05,
                "pmp": home and rng.random() < 0.6,
                "udp": rng.random() < 0.98,
                "upnp": home and rng.random() < 0.4,
            },
        }

    def distro(self, kind):
        if kind == "container":
            return ("alpine", self.rng.choice(("3.22.1", "3.21.4", "3.20.7")), "")
        name, version, code, _ = self.pick(DISTROS, self.distro_cum)
        return name, version, code

    def os_version(self, kind, distro):
        if distro is not None:
            return self.rng.choice(KERNELS[distro[0]])
        key = kind if kind in OS_VERSIONS else OS_NAME[kind]
        return self.rng.choice(OS_VERSIONS[key])

    # ---- one device ----------------------------------------------------------------
    def device(self, i, kind):
        rng = self.rng
        now = self.now
        external = kind == "external"
        tagged = kind in TAGGED_KINDS or (kind == "tvos" and rng.random() < 0.3)
        first, person = self.person()
        if external:
            partner = rng.choice(PARTNERS)
            user = "%s@%s.example.com" % (first, partner)
        elif tagged:
            user = rng.choice(ADMINS)
        else:
            user = person
        os_name = "linux" if external else OS_NAME[kind]

        if external:
            hostname, kind_tags = "%s-%s-%02d" % (
                partner, rng.choice(ROLES), rng.randrange(1, 50)), None
        else:
            hostname, kind_tags = self.hostname_for(kind, first)
        if os_name == "linux" and kind != "container" and not external and rng.random() < 0.01:
            hostname = rng.choice(PLACEHOLDER_HOSTNAMES)

        # connection state: online / recently offline / stale / never connected
        r = rng.random()
        if external:
            state = "online" if r < 0.7 else "offline"
        elif kind == "container":
            state = "online" if r < 0.9 else "offline"
        elif r < 0.008:
            state = "never"
        elif r < 0.58:
            state = "online"
        elif r < 0.9:
            state = "offline"
        else:
            state = "stale"
        never = state == "never"

        if kind == "container":
            created = now - rng.randrange(60, 3 * DAY)
        elif never:
            created = now - rng.randrange(3600, 20 * DAY)
        elif state == "stale":
            created = now - rng.randrange(90 * DAY, 3 * 365 * DAY)
        else:
            created = now - rng.randrange(DAY, 3 * 365 * DAY)

        # key expiry: tagged keys mostly never expire; user keys last 180 days from the
        # last login, which is at or after `created`
        expired = False
        if external or (tagged and rng.random() < 0.93):
            key_disabled, expires = True, ZERO_TIME
        elif tagged or (kind == "tvos" and rng.random() < 0.5):
            # expiry disabled after registration: the original expiry time is kept
            key_disabled = True
            expires = rfc3339(created + 180 * DAY)
        else:
            key_disabled = False
            x = rng.random()
            if never:
                exp = created + 180 * DAY
            else:
                if x < 0.04:
                    exp = now - rng.randrange(3600, 60 * DAY)
                    expired = True
                elif x < 0.09:
                    exp = now + rng.randrange(3600, 14 * DAY)
                else:
                    exp = now + rng.randrange(15 * DAY, 180 * DAY)
                login = exp - 180 * DAY
                if created > login:
                    created = login if rng.random() < 0.4 else \
                        login - rng.randrange(0, 2 * 365 * DAY)
            expires = rfc3339(exp)

        last_seen = None
        if expired:  # the device dropped off when its key expired
            state = "offline"
            last_seen = exp - rng.randrange(1, 3600)
        elif state == "offline":
            last_seen = now - rng.randrange(30, max(31, min(45 * DAY, now - created)))
        elif state == "stale":
            last_seen = now - rng.randrange(61 * DAY, min(400 * DAY, now - created - DAY))
        online = state == "online"

        release = self.pick(self.release_names, self.release_cum)
        if external:
            client_version = ""
            update = False
        elif kind == "freebsd" and rng.random() < 0.6:
            client_version = release  # ports build: plain version
            update = False
        else:
            client_version = self.release_strings[release]
            update = release != LATEST and kind not in ("linux-server", "container") and \
                rng.random() < 0.8
        old = self.old_client_rng
        if not external and old.random() < OLD_CLIENT_RATE:
            # A client never updated since: Tailscale flags the update; its version keeps a build suffix.
            release = old.choice(OLD_RELEASES)
            client_version = "%s-t%09x-g%09x" % (release, old.getrandbits(36), old.getrandbits(36))
            update = True

        distro = None
        if os_name == "linux" and not external and not never:
            distro = self.distro(kind)

        enabled, advertised = [], []
        if kind == "subnet-router":
            subnets = sorted({"10.%d.0.0/16" % rng.randrange(256) for _ in range(rng.randrange(1, 3))})
            if rng.random() < 0.6:
                subnets.append("192.168.%d.0/24" % rng.randrange(256))
            if rng.random() < 0.3:
                subnets.append("172.%d.%d.0/24" % (rng.randrange(16, 32), rng.randrange(256)))
            advertised = subnets
            if rng.random() < 0.25 and len(subnets) > 1:
                enabled = subnets[:-1]
            else:
                enabled = list(subnets)
            if rng.random() < 0.1:  # router that is also an exit node
                advertised = advertised + list(EXIT_ROUTES)
                enabled = enabled + list(EXIT_ROUTES)
        elif kind == "exit-node":
            advertised = list(EXIT_ROUTES)
            enabled = list(EXIT_ROUTES) if rng.random() < 0.8 else []

        tags = None
        if tagged:
            tags = sorted(set(kind_tags))
        elif external and rng.random() < 0.5:
            tags = ["tag:%s-shared" % partner]

        node_id = self.node_id(i)
        d = {
            "addresses": self.addresses(),
            "id": str(self.id_base + i * 1000 + rng.randrange(1000)),
            "nodeId": node_id,
            "user": user,
            "name": self.label(hostname) + "." + DOMAIN,
            "hostname": hostname,
            "clientVersion": client_version,
            "updateAvailable": update,
            "os": os_name,
            "created": "" if external else rfc3339(created),
            "connectedToControl": online,
        }
        if last_seen is not None:
            d["lastSeen"] = rfc3339(last_seen)
        d["keyExpiryDisabled"] = key_disabled
        d["expires"] = expires
        d["authorized"] = external or rng.random() >= 0.01
        d["isExternal"] = external
        d["isEphemeral"] = kind == "container"
        if not external and not never and rng.random() < 0.005:
            d["multipleConnections"] = True
        d["machineKey"] = "" if external else "mkey:" + self.key()
        d["nodeKey"] = "nodekey:" + self.key()
        d["blocksIncomingConnections"] = kind in ("macos", "windows") and rng.random() < 0.12
        d["enabledRoutes"] = enabled
        d["advertisedRoutes"] = advertised
        if not external:
            d["clientConnectivity"] = self.connectivity(kind, never)
        if tags:
            d["tags"] = tags
        d["tailnetLockError"] = ""
        if not external and rng.random() < 0.005:
            d["tailnetLockError"] = "tailnet-lock: node key not signed by a trusted tailnet lock key"
        d["tailnetLockKey"] = "" if external else "tlpub:" + self.key()
        if not external:
            if never:
                d["postureIdentity"] = {}
            elif kind in ("macos", "windows") and rng.random() < 0.7 or \
                    kind in ("linux-server", "subnet-router") and rng.random() < 0.2:
                serials = ["EXAMPLE" + "".join(rng.choice(ALNUM_UPPER) for _ in range(8))]
                if kind != "macos" and rng.random() < 0.3:
                    serials.append("EXAMPLEMB" + "".join(rng.choice(ALNUM_UPPER) for _ in range(6)))
                d["postureIdentity"] = {"serialNumbers": serials,
                                        "hardwareAddresses": self.hardware_addresses(kind)}
            else:
                d["postureIdentity"] = {"disabled": True}
        d["sshEnabled"] = os_name in ("linux", "freebsd") and not external and \
            kind != "container" and rng.random() < 0.7
        if distro is not None:
            d["distro"] = {"name": distro[0], "version": distro[1], "codeName": distro[2]}

        posture = None
        if not external and rng.random() < 0.88:
            posture = self.posture(kind, os_name, release, distro, never, d["created"])
        return d, posture

    def hardware_addresses(self, kind):
        """The MACs a client reports in postureIdentity: one or two cards of a real maker, and
        now and then a locally administered one (a container bridge or a randomised Wi-Fi MAC)
        or a junk value, as real clients send them."""
        rng = self.extra_rng
        cards = ["%s:%02x:%02x:%02x" % (rng.choice(HARDWARE_OUIS), rng.randrange(256), rng.randrange(256),
                                        rng.randrange(256)) for _ in range(rng.choice((1, 1, 2)))]
        if kind in ("linux-server", "subnet-router") and rng.random() < 0.3:
            cards.append("02:42:ac:11:00:%02x" % rng.randrange(2, 256))
        if kind == "macos" and rng.random() < 0.3:
            cards.append("%02x:%02x:%02x:%02x:%02x:%02x" % (
                (rng.randrange(256) | 0x02) & 0xfe, *(rng.randrange(256) for _ in range(5))))
        if rng.random() < 0.02:
            cards.append(rng.choice(("", "00:00:00:00:00:00", "bridge0")))
        return cards

    def posture(self, kind, os_name, release, distro, never, created):
        rng = self.rng
        attrs = {}
        expiries = {}
        if not never:
            attrs["node:os"] = POSTURE_OS[os_name]
            attrs["node:osVersion"] = self.os_version(kind, distro)
            attrs["node:tsVersion"] = release
            attrs["node:tsReleaseTrack"] = "unstable" if rng.random() < 0.03 else "stable"
            attrs["node:tsAutoUpdate"] = rng.random() < 0.55
            if rng.random() < 0.5:
                attrs["node:tsStateEncrypted"] = kind in ("macos", "windows", "iphone", "ipad") \
                    or rng.random() < 0.3
        if rng.random() < 0.45:
            attrs["custom:assetTag"] = "EXAMPLE_ASSET_%05d" % rng.randrange(100000)
        if rng.random() < 0.2:
            attrs["custom:riskScore"] = rng.randrange(0, 101)
            expiries["custom:riskScore"] = rfc3339(self.now + rng.randrange(DAY, 60 * DAY))
        if kind in ("macos", "windows") and rng.random() < 0.3:
            attrs["custom:diskEncrypted"] = rng.random() < 0.9
        if not never:
            attrs["ip:country"] = self.extra_rng.choice(COUNTRIES)
        if never:
            return posture_body(attrs, expiries)
        if kind in ("macos", "windows", "linux-server", "subnet-router", "exit-node") and \
                rng.random() < 0.4:
            attrs["falcon:ztaScore"] = rng.randrange(20, 101)
            if rng.random() < 0.3:
                expiries["falcon:ztaScore"] = "%s.%03dZ" % (
                    rfc3339(self.now + rng.randrange(60, 3600))[:-1], rng.randrange(1000))
        if kind in ("macos", "ipad", "iphone") and rng.random() < 0.5:
            attrs["jamfPro:remoteManaged"] = True
            attrs["jamfPro:supervised"] = rng.random() < 0.8
            if kind == "macos":
                attrs["jamfPro:firewallEnabled"] = rng.random() < 0.85
                attrs["jamfPro:fileVaultStatus"] = rng.choice(
                    ("ALL_ENCRYPTED", "ALL_ENCRYPTED", "ALL_ENCRYPTED", "SOME_ENCRYPTED",
                     "BOOT_ENCRYPTED", "NOT_ENCRYPTED"))
                attrs["jamfPro:SIPEnabled"] = rng.choice(("ENABLED", "ENABLED", "ENABLED",
                                                          "DISABLED", "NOT_COLLECTED"))
        if kind in ("windows", "android", "iphone") and rng.random() < 0.5:
            attrs["intune:complianceState"] = rng.choice(("compliant", "compliant", "compliant",
                                                          "noncompliant", "inGracePeriod"))
            attrs["intune:azureADRegistered"] = rng.random() < 0.9
            attrs["intune:deviceRegistrationState"] = "registered"
            attrs["intune:isSupervised"] = rng.random() < 0.2
            attrs["intune:isEncrypted"] = rng.random() < 0.9
            attrs["intune:managedDeviceOwnerType"] = "company" if kind == "windows" or \
                rng.random() < 0.5 else "personal"
        if kind in ("windows", "linux-server", "android", "macos") and rng.random() < 0.25:
            infected = rng.random() < 0.03
            attrs["sentinelOne:operationalState"] = "na"
            attrs["sentinelOne:activeThreats"] = rng.randrange(1, 4) if infected else 0
            attrs["sentinelOne:agentVersion"] = rng.choice(("25.1.2.17", "25.2.1.4", "24.2.3.471"))
            if kind != "android":
                attrs["sentinelOne:firewallEnabled"] = rng.random() < 0.8
            attrs["sentinelOne:infected"] = infected
        return posture_body(attrs, expiries)


def posture_body(attributes, expiries):
    """Tailscale's posture answer: real ones carry no "expiries" key unless something expires."""
    body = {"attributes": attributes}
    if expiries:
        body["expiries"] = expiries
    return body


def generate(n, seed=1, now=FIXTURES_NOW):
    """Return (devices_body, posture_map) for a synthetic tailnet of n devices."""
    if n < 0:
        raise ValueError("device count must be >= 0")
    moment = parse_rfc3339(now)
    if moment is None:
        raise ValueError(f"now must be an RFC 3339 time, not {now!r}")
    gen = Generator(seed, int(moment.timestamp()))
    rng = gen.rng
    kinds = rng.choices(KINDS, weights=[w for _, w in KIND_WEIGHTS], k=n)
    if n >= len(KINDS):  # every kind at least once, at seeded positions
        for kind, pos in zip(KINDS, rng.sample(range(n), len(KINDS)), strict=True):
            kinds[pos] = kind
    devices = []
    posture = {}
    for i, kind in enumerate(kinds):
        d, p = gen.device(i, kind)
        devices.append(d)
        if p is not None:
            posture[d["nodeId"]] = p
    return {"devices": devices}, posture


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def write(out_dir, n, seed=1, now=FIXTURES_NOW):
    devices, posture = generate(n, seed, now)
    os.makedirs(out_dir, exist_ok=True)
    sizes = {}
    for name, obj in (("devices.json", devices), ("posture.json", posture)):
        data = encode(obj)
        with open(os.path.join(out_dir, name), "wb") as fh:
            fh.write(data)
        sizes[name] = len(data)
    return sizes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, required=True, help="number of devices")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--now", default=FIXTURES_NOW,
                    help="reference time, RFC 3339 (default %s)" % FIXTURES_NOW)
    args = ap.parse_args(argv)
    if args.devices < 0:
        ap.error("--devices must be >= 0")
    if parse_rfc3339(args.now) is None:
        ap.error("--now must be an RFC 3339 time such as %s" % FIXTURES_NOW)
    started = time.monotonic()
    sizes = write(args.out, args.devices, args.seed, args.now)
    print("wrote %d devices to %s (devices.json %d bytes, posture.json %d bytes) in %.1fs" % (
        args.devices, args.out, sizes["devices.json"], sizes["posture.json"],
        time.monotonic() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
