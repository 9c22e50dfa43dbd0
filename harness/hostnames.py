"""Hostnames that name no host.

tailscale.star drops these (its own PLACEHOLDER_HOSTNAMES list, which is the truth:
tests/test_hostnames.py fails when this copy differs from it). The invariant
`no_placeholder_hostnames` rejects them in any asset, and harness/generate_tailnet.py gives a
few synthetic devices one of them, so the benchmark exercises the same rule.
"""

PLACEHOLDER_HOSTNAMES = (
    "localhost", "localhost.localdomain", "unknown", "none", "null", "nil", "na", "n/a",
    "(none)", "(null)", "undefined", "default",
)


def is_placeholder(hostname: str) -> bool:
    """Whether hostname is a placeholder, ignoring case and surrounding white space."""
    return hostname.strip().lower() in PLACEHOLDER_HOSTNAMES
