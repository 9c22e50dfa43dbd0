"""The harness's placeholder hostnames are the script's own list."""

from __future__ import annotations

import ast

from harness.hostnames import PLACEHOLDER_HOSTNAMES, is_placeholder
from harness.settings import read_setting


def test_the_list_is_the_scripts_list(tailscale_script):
    source = tailscale_script.read_text(encoding="utf-8")
    assert tuple(ast.literal_eval(read_setting(source, "PLACEHOLDER_HOSTNAMES"))) == PLACEHOLDER_HOSTNAMES


def test_placeholders_ignore_case_and_white_space():
    assert is_placeholder(" LocalHost ") and is_placeholder("N/A")
    assert not is_placeholder("localhost.tail0example.ts.net") and not is_placeholder("router")
