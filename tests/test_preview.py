"""`make run`: the asset table and the live credentials."""

from __future__ import annotations

import pytest

from harness.preview import asset_row, format_table, live_kwargs


def test_the_asset_table():
    asset = {"id": "tailscale-1", "hostnames": ["db-router-01.tail0example.ts.net", "db-router-01"],
             "networkInterfaces": [{"ipv4Addresses": ["100.64.0.1"], "ipv6Addresses": ["fd7a:115c:a1e0::1"]}],
             "os": "Linux", "osVersion": "24.04", "tags": ["tailscale", "tag:server"],
             "customAttributes": {"tailscale_online": "true"}}
    assert asset_row(asset) == ["tailscale-1", "db-router-01.tail0example.ts.net", "100.64.0.1, fd7a:115c:a1e0::1",
                                "Linux 24.04", "tag:server", "true"]
    assert format_table(["id", "name"], [["1", "x" * 60]], max_cell=10).splitlines() == [
        "id  name", "--  ----------", "1   xxxxxxxxx…"]


def test_live_credentials_come_from_the_environment():
    assert live_kwargs({"TAILSCALE_API_KEY": "tskey-api-x"})["access_secret"] == "tskey-api-x"
    oauth = {"TAILSCALE_OAUTH_CLIENT_ID": "kX", "TAILSCALE_OAUTH_CLIENT_SECRET": "tskey-client-x",
             "TAILSCALE_API_KEY": "k"}
    assert live_kwargs(oauth) == {"access_key": "kX", "access_secret": "tskey-client-x"}
    with pytest.raises(SystemExit, match="TAILSCALE_API_KEY"):
        live_kwargs({})
